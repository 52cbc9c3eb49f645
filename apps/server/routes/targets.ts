import { z } from 'zod';
import { CONNECTORS } from '../../../src/connectors/index.ts';
import { transaction } from '../../../src/db/index.ts';
import {
  TASK_STATUSES,
  cancelTask,
  completeTask,
  createTarget,
  deleteTarget,
  getTarget,
  getTask,
  listTargets,
  listTasks,
  testTarget,
  updateTarget,
  type OpenDeps,
} from '../../../src/targets/index.ts';
import { contextOf } from '../auth.ts';
import type { AppDeps, Router } from '../app.ts';

const connectorView = z.object({
  type: z.string(),
  title: z.string(),
  description: z.string(),
  capabilities: z.array(z.string()).describe('What the type can do: test, search, create, groups, sync, …'),
  secretFields: z.array(z.string()),
  configSchema: z
    .record(z.string(), z.unknown())
    .describe('JSON Schema (draft 2020-12) of the configuration, credentials included'),
});

export const targetView = z.object({
  id: z.uuid(),
  name: z.string(),
  connector: z.string(),
  config: z.record(z.string(), z.unknown()).describe('The configuration without credentials'),
  secrets: z
    .record(z.string(), z.enum(['set', 'not set']))
    .describe('Each credential of the connector type: whether it is stored (values are never returned)'),
  enabled: z.boolean(),
  lastTest: z
    .object({ ok: z.boolean(), at: z.string(), code: z.string().nullable(), message: z.string().nullable() })
    .nullable(),
  createdAt: z.string(),
  createdBy: z.string(),
  updatedAt: z.string(),
  updatedBy: z.string(),
});

export const taskView = z.object({
  id: z.uuid(),
  target: z.string(),
  targetId: z.uuid(),
  operation: z.string(),
  objectClass: z.string(),
  objectId: z.string(),
  objectName: z.string().nullable(),
  summary: z.string(),
  details: z.record(z.string(), z.unknown()),
  status: z.enum(TASK_STATUSES),
  note: z.string().nullable(),
  completedBy: z.string().nullable(),
  completedAt: z.string().nullable(),
  createdAt: z.string(),
});

const nameParam = z.object({ name: z.string().min(1).max(63) });
const idParam = z.object({ id: z.string().max(64) });
const noteBody = z.object({ note: z.string().max(2000) }).strict();

/** The JSON Schema a form (the console's, or a script's) builds the configuration from. */
function configJsonSchema(schema: z.ZodType): Record<string, unknown> {
  return z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
}

export async function targetRoutes(app: Router, deps: AppDeps): Promise<void> {
  const openDeps: OpenDeps = {
    database: deps.database,
    secrets: deps.secrets,
    log: deps.log,
    clock: deps.clock,
    ids: deps.ids,
  };

  app.get(
    '/connectors',
    {
      config: { scope: 'targets:read' },
      schema: {
        tags: ['targets'],
        summary: 'Connector types: what each supports, its credentials and its configuration schema',
        response: { 200: z.object({ items: z.array(connectorView) }) },
      },
    },
    async () => ({
      items: CONNECTORS.map((c) => ({
        type: c.type,
        title: c.title,
        description: c.description,
        capabilities: [...c.capabilities],
        secretFields: [...c.secretFields],
        configSchema: configJsonSchema(c.configSchema),
      })),
    }),
  );

  app.get(
    '/targets',
    {
      config: { scope: 'targets:read' },
      schema: {
        tags: ['targets'],
        summary: 'Connected systems, with the outcome of their last connection test',
        response: { 200: z.object({ items: z.array(targetView) }) },
      },
    },
    async () => ({ items: await listTargets(deps.database.pool) }),
  );

  app.post(
    '/targets',
    {
      config: { scope: 'targets:write' },
      schema: {
        tags: ['targets'],
        summary:
          'Add a target. `config` is checked by the connector type; its credentials are stored encrypted and never returned',
        body: z
          .object({
            name: z.string().max(63).describe('Lower-case letters, digits, ".", "_" or "-"'),
            connector: z.string().max(63).describe('A connector type from GET /connectors'),
            config: z.record(z.string(), z.unknown()).default({}),
            enabled: z.boolean().optional(),
          })
          .strict(),
        response: { 201: targetView },
      },
    },
    async (req, reply) => {
      const t = await transaction(deps.database, (tx) =>
        createTarget(tx, contextOf(req, deps), openDeps, req.body),
      );
      return reply.code(201).send(t);
    },
  );

  app.get(
    '/targets/:name',
    {
      config: { scope: 'targets:read' },
      schema: { tags: ['targets'], summary: 'One target', params: nameParam, response: { 200: targetView } },
    },
    async (req) => getTarget(deps.database.pool, req.params.name),
  );

  app.patch(
    '/targets/:name',
    {
      config: { scope: 'targets:write' },
      schema: {
        tags: ['targets'],
        summary:
          'Change a target. `config` keys are merged into the stored configuration (null removes one); a credential left out keeps its stored value',
        params: nameParam,
        body: z
          .object({ config: z.record(z.string(), z.unknown()).optional(), enabled: z.boolean().optional() })
          .strict(),
        response: { 200: targetView },
      },
    },
    async (req) =>
      transaction(deps.database, (tx) =>
        updateTarget(tx, contextOf(req, deps), openDeps, req.params.name, req.body),
      ),
  );

  app.delete(
    '/targets/:name',
    {
      config: { scope: 'targets:write' },
      schema: {
        tags: ['targets'],
        summary: 'Remove a target (refused while it has open tasks)',
        params: nameParam,
        response: { 204: z.null() },
      },
    },
    async (req, reply) => {
      await transaction(deps.database, (tx) => deleteTarget(tx, contextOf(req, deps), req.params.name));
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/targets/:name/test',
    {
      config: { scope: 'targets:write' },
      schema: {
        tags: ['targets'],
        summary:
          "Test the connection. A failure is problem+json with the connector's error code (unreachable, auth_failed, …) and the target's own message in targetMessage",
        params: nameParam,
        response: {
          200: z.object({
            ok: z.literal(true),
            details: z.record(z.string(), z.string()),
            testedAt: z.string(),
          }),
        },
      },
    },
    async (req) => testTarget(openDeps, req.params.name),
  );

  app.get(
    '/tasks',
    {
      config: { scope: 'tasks:read' },
      schema: {
        tags: ['tasks'],
        summary: 'Tasks for people on manual targets: open ones oldest first, others newest first',
        querystring: z.object({
          status: z.enum(TASK_STATUSES).optional(),
          target: z.string().max(63).optional(),
          limit: z.coerce.number().int().min(1).max(500).default(50),
          cursor: z.string().max(20).optional(),
        }),
        response: { 200: z.object({ items: z.array(taskView), nextCursor: z.string().nullable() }) },
      },
    },
    async (req) => listTasks(deps.database.pool, req.query),
  );

  app.get(
    '/tasks/:id',
    {
      config: { scope: 'tasks:read' },
      schema: { tags: ['tasks'], summary: 'One task', params: idParam, response: { 200: taskView } },
    },
    async (req) => getTask(deps.database.pool, req.params.id),
  );

  for (const [action, run] of [
    ['complete', completeTask],
    ['cancel', cancelTask],
  ] as const)
    app.post(
      `/tasks/:id/${action}`,
      {
        config: { scope: 'tasks:write' },
        schema: {
          tags: ['tasks'],
          summary:
            action === 'complete'
              ? 'The work is done: complete the task with a note (required); the ledger of the target follows'
              : 'The work will not be done: cancel the task with a note (required)',
          params: idParam,
          body: noteBody,
          response: { 200: taskView },
        },
      },
      async (req) =>
        transaction(deps.database, (tx) => run(tx, contextOf(req, deps), req.params.id, req.body.note)),
    );
}
