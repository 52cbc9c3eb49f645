import { z } from 'zod';
import { transaction } from '../../../src/db/index.ts';
import {
  declareEntitlement,
  discoverEntitlements,
  listEntitlements,
  updateEntitlement,
} from '../../../src/policy/index.ts';
import {
  CHANGE_SET_STATUSES,
  approveChangeSet,
  assignRole,
  changeSetCounts,
  getChangeSet,
  latencyStats,
  listChangeSets,
  personAccess,
  previewPeople,
  recompute,
  rejectChangeSet,
  retryChangeSet,
  revokeAssignment,
  undoChangeSet,
} from '../../../src/provisioning/index.ts';
import { applyPolicy, exportPolicy } from '../../../src/provisioning/policy-apply.ts';
import { openConnector, type OpenDeps } from '../../../src/targets/index.ts';
import { contextOf } from '../auth.ts';
import type { AppDeps, Router } from '../app.ts';

const nameParam = z.object({ name: z.string().min(1).max(63) });
const idParam = z.object({ id: z.string().min(1).max(64) });
const noteBody = z.object({ note: z.string().max(2000).default('') }).strict();
const json = z.record(z.string(), z.unknown());

const entitlementView = z.object({
  id: z.uuid(),
  target: z.string(),
  key: z.string(),
  kind: z.string(),
  objectId: z.string(),
  objectName: z.string(),
  displayName: z.string(),
  description: z.string(),
  privileged: z.boolean(),
  owner: z.string().nullable(),
  monthlyCost: z.number().nullable(),
  origin: z.enum(['discovered', 'declared']),
  missingSince: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
});

const recorded = z
  .object({ id: z.uuid(), seq: z.number(), status: z.string(), opCount: z.number() })
  .nullable();

const impactLine = z.object({
  personId: z.string(),
  person: z.string(),
  target: z.string(),
  item: z.string(),
  because: z.string().optional(),
});
const impactView = z.object({
  people: z.number(),
  affected: z.number(),
  gains: z.array(impactLine),
  losses: z.array(impactLine),
  gainCount: z.number(),
  lossCount: z.number(),
  byItem: z.array(z.object({ target: z.string(), item: z.string(), gain: z.number(), lose: z.number() })),
  operations: z.number(),
  truncated: z.boolean(),
});

/** A policy as YAML (with the file name for problems) or as a document with the naming standards. */
const policyBody = z.object({
  yaml: z.string().max(2_000_000).optional(),
  file: z.string().max(200).optional(),
  document: json.optional(),
  naming: json.optional(),
});
const eitherYamlOrDocument = (b: { yaml?: string | undefined; document?: unknown }) =>
  (b.yaml === undefined) !== (b.document === undefined);

function policyInput(b: z.output<typeof policyBody>) {
  return b.yaml !== undefined
    ? { yaml: b.yaml, ...(b.file ? { file: b.file } : {}) }
    : { document: b.document, ...(b.naming ? { naming: b.naming } : {}) };
}

const policyResult = z.object({
  dryRun: z.boolean(),
  version: z.number().nullable(),
  impact: impactView,
  changeSet: recorded,
  namingChanged: z.boolean(),
});

export async function provisioningRoutes(app: Router, deps: AppDeps): Promise<void> {
  const openDeps: OpenDeps = {
    database: deps.database,
    secrets: deps.secrets,
    log: deps.log,
    clock: deps.clock,
    ids: deps.ids,
  };
  const jobs = { jobs: deps.jobs };

  // ── Policy ────────────────────────────────────────────────────────────────────────────────────────────────────
  app.get(
    '/policy',
    {
      config: { scope: 'policy:read' },
      schema: {
        tags: ['policy'],
        summary:
          'The policy in force (roles, rules, mappings, SoD, settings) as a document and as YAML with the naming standards',
        response: { 200: z.object({ version: z.number(), document: json, yaml: z.string() }) },
      },
    },
    async () => {
      const client = await deps.database.pool.connect();
      try {
        const r = await exportPolicy({ client, db: deps.database.db });
        return {
          version: r.version,
          document: r.document as unknown as Record<string, unknown>,
          yaml: r.yaml,
        };
      } finally {
        client.release();
      }
    },
  );

  app.post(
    '/policy',
    {
      config: { scope: 'policy:write' },
      schema: {
        tags: ['policy'],
        summary:
          'Check and apply a policy, given as YAML (`yaml`) or as a document (`document`, with `naming`). With `dryRun` nothing is stored: the answer says who would gain and who would lose what. Problems come back as 422 with the path (and for YAML the line) of each',
        body: policyBody
          .extend({
            dryRun: z.boolean().default(false),
            comment: z.string().max(500).optional(),
            hold: z.boolean().optional().describe('Keep the resulting change set for a person to approve'),
          })
          .strict()
          .refine(eitherYamlOrDocument, { error: 'give either yaml or document' }),
        response: { 200: policyResult },
      },
    },
    async (req) => {
      const b = req.body;
      return transaction(deps.database, (tx) =>
        applyPolicy(tx, contextOf(req, deps), jobs, policyInput(b), {
          dryRun: b.dryRun,
          ...(b.comment ? { comment: b.comment } : {}),
          ...(b.hold ? { hold: true } : {}),
        }),
      );
    },
  );

  app.post(
    '/policy/check',
    {
      config: { scope: 'policy:read' },
      schema: {
        tags: ['policy'],
        summary:
          'Check a draft policy (YAML or document) and show its impact, without storing anything: for anyone who may read the policy',
        body: policyBody.strict().refine(eitherYamlOrDocument, { error: 'give either yaml or document' }),
        response: { 200: policyResult },
      },
    },
    // A dry run only reads.
    async (req) =>
      transaction(deps.database, (tx) =>
        applyPolicy(tx, contextOf(req, deps), jobs, policyInput(req.body), { dryRun: true }),
      ),
  );

  // ── Entitlement catalog ───────────────────────────────────────────────────────────────────────────────────────
  app.get(
    '/entitlements',
    {
      config: { scope: 'policy:read' },
      schema: {
        tags: ['policy'],
        summary: 'The entitlement catalog (groups, roles, licences per target)',
        querystring: z.object({ target: z.string().max(63).optional() }),
        response: { 200: z.object({ items: z.array(entitlementView) }) },
      },
    },
    async (req) => ({ items: await listEntitlements(deps.database.pool, req.query.target) }),
  );

  app.post(
    '/targets/:name/entitlements/discover',
    {
      config: { scope: 'policy:write' },
      schema: {
        tags: ['policy'],
        summary:
          "Read the target's groups into the catalog (new ones added, renamed ones followed, gone ones marked missing)",
        params: nameParam,
        response: {
          200: z.object({ added: z.number(), updated: z.number(), missing: z.number(), total: z.number() }),
        },
      },
    },
    async (req) => {
      const connector = await openConnector(openDeps, req.params.name);
      try {
        return await transaction(deps.database, (tx) =>
          discoverEntitlements(tx, contextOf(req, deps), req.params.name, connector),
        );
      } finally {
        await connector.close().catch(() => undefined);
      }
    },
  );

  app.post(
    '/targets/:name/entitlements',
    {
      config: { scope: 'policy:write' },
      schema: {
        tags: ['policy'],
        summary: 'Declare an entitlement the target cannot list (a licence, an application role)',
        params: nameParam,
        body: z
          .object({
            key: z.string().min(1).max(200),
            kind: z.string().min(1).max(40).optional(),
            objectId: z.string().min(1).max(500),
            objectName: z.string().max(1000).optional(),
            displayName: z.string().max(200).optional(),
            description: z.string().max(2000).optional(),
            privileged: z.boolean().optional(),
            owner: z.string().max(200).nullable().optional(),
            monthlyCost: z.number().nullable().optional(),
          })
          .strict(),
        response: { 201: entitlementView },
      },
    },
    async (req, reply) => {
      const e = await transaction(deps.database, (tx) =>
        declareEntitlement(tx, contextOf(req, deps), req.params.name, req.body),
      );
      return reply.code(201).send(e);
    },
  );

  app.patch(
    '/targets/:name/entitlements/:key',
    {
      config: { scope: 'policy:write' },
      schema: {
        tags: ['policy'],
        summary:
          'Mark an entitlement privileged, give it an owner and a monthly cost, or rename it for people',
        params: z.object({ name: z.string().min(1).max(63), key: z.string().min(1).max(1000) }),
        body: z
          .object({
            displayName: z.string().min(1).max(200).optional(),
            description: z.string().max(2000).optional(),
            privileged: z.boolean().optional(),
            owner: z.string().max(200).nullable().optional(),
            monthlyCost: z.number().nullable().optional(),
          })
          .strict(),
        response: { 200: entitlementView },
      },
    },
    async (req) =>
      transaction(deps.database, (tx) =>
        updateEntitlement(tx, contextOf(req, deps), req.params.name, req.params.key, req.body),
      ),
  );

  // ── Change sets ───────────────────────────────────────────────────────────────────────────────────────────────
  app.get(
    '/change-sets',
    {
      config: { scope: 'changes:read' },
      schema: {
        tags: ['change sets'],
        summary: 'Change sets, newest first',
        querystring: z.object({
          status: z.enum(CHANGE_SET_STATUSES).optional(),
          person: z.uuid().optional(),
          before: z.coerce.number().int().optional(),
          limit: z.coerce.number().int().min(1).max(200).default(50),
        }),
        response: { 200: z.object({ items: z.array(json), next: z.number().nullable() }) },
      },
    },
    async (req) => {
      const q = req.query;
      const r = await listChangeSets(deps.database.pool, {
        limit: q.limit,
        ...(q.status ? { status: q.status } : {}),
        ...(q.person ? { personId: q.person } : {}),
        ...(q.before ? { before: q.before } : {}),
      });
      return { items: r.items as unknown as Record<string, unknown>[], next: r.next };
    },
  );

  app.get(
    '/change-sets/summary',
    {
      config: { scope: 'changes:read' },
      schema: {
        tags: ['change sets'],
        summary: 'How many change sets are in each status',
        response: { 200: z.object({ counts: z.record(z.string(), z.number()) }) },
      },
    },
    async () => ({ counts: await changeSetCounts(deps.database.pool) }),
  );

  app.get(
    '/change-sets/:id',
    {
      config: { scope: 'changes:read' },
      schema: {
        tags: ['change sets'],
        summary: 'One change set (by id or number) with its operations: the preview, per person and target',
        params: idParam,
        response: { 200: json },
      },
    },
    async (req) =>
      (await getChangeSet(deps.database.pool, req.params.id)) as unknown as Record<string, unknown>,
  );

  app.post(
    '/change-sets',
    {
      config: { scope: 'changes:write' },
      schema: {
        tags: ['change sets'],
        summary:
          'Recompute people now: the change set is applied at once unless it needs approval (or `hold` keeps it for a person)',
        body: z
          .object({ personIds: z.array(z.uuid()).min(1).max(10_000), hold: z.boolean().default(false) })
          .strict(),
        response: { 200: z.object({ changeSet: recorded }) },
      },
    },
    async (req) => ({
      changeSet: await transaction(deps.database, (tx) =>
        recompute(tx, contextOf(req, deps), jobs, req.body.personIds, { hold: req.body.hold }),
      ),
    }),
  );

  app.post(
    '/change-sets/preview',
    {
      config: { scope: 'changes:read' },
      schema: {
        tags: ['change sets'],
        summary: 'What recomputing these people would do, without recording anything',
        body: z.object({ personIds: z.array(z.uuid()).min(1).max(10_000) }).strict(),
        response: { 200: json },
      },
    },
    async (req) =>
      (await previewPeople(deps.database.pool, req.body.personIds, deps.clock.now())) as unknown as Record<
        string,
        unknown
      >,
  );

  app.post(
    '/change-sets/:id/approve',
    {
      config: { scope: 'changes:approve' },
      schema: {
        tags: ['change sets'],
        summary: 'Approve a change set that waits (not your own): it is applied straight away',
        params: idParam,
        body: noteBody,
        response: { 200: json },
      },
    },
    async (req) =>
      (await transaction(deps.database, (tx) =>
        approveChangeSet(tx, contextOf(req, deps), jobs, req.params.id, req.body.note),
      )) as unknown as Record<string, unknown>,
  );

  app.post(
    '/change-sets/:id/reject',
    {
      config: { scope: 'changes:approve' },
      schema: {
        tags: ['change sets'],
        summary: 'Reject a change set that waits, saying why (nothing is applied)',
        params: idParam,
        body: noteBody,
        response: { 200: json },
      },
    },
    async (req) =>
      (await transaction(deps.database, (tx) =>
        rejectChangeSet(tx, contextOf(req, deps), req.params.id, req.body.note),
      )) as unknown as Record<string, unknown>,
  );

  app.post(
    '/change-sets/:id/retry',
    {
      config: { scope: 'changes:write' },
      schema: {
        tags: ['change sets'],
        summary: 'Retry the failed (and not attempted) operations of a failed change set',
        params: idParam,
        response: { 200: json },
      },
    },
    async (req) =>
      (await transaction(deps.database, (tx) =>
        retryChangeSet(tx, contextOf(req, deps), jobs, req.params.id),
      )) as unknown as Record<string, unknown>,
  );

  app.post(
    '/change-sets/:id/undo',
    {
      config: { scope: 'changes:write' },
      schema: {
        tags: ['change sets'],
        summary:
          'Build and apply the inverse of a change set (a new change set; what cannot be undone is listed on its operations)',
        params: idParam,
        body: z
          .object({ hold: z.boolean().default(false) })
          .strict()
          .default({ hold: false }),
        response: { 200: z.object({ changeSet: recorded }) },
      },
    },
    async (req) => ({
      changeSet: await transaction(deps.database, (tx) =>
        undoChangeSet(tx, contextOf(req, deps), jobs, req.params.id, { hold: req.body.hold }),
      ),
    }),
  );

  app.get(
    '/provisioning/latency',
    {
      config: { scope: 'changes:read' },
      schema: {
        tags: ['change sets'],
        summary: 'HR event to committed on the target: p50/p95 per target over the last `hours`',
        querystring: z.object({
          hours: z.coerce
            .number()
            .min(1)
            .max(24 * 90)
            .default(24),
        }),
        response: {
          200: z.object({
            items: z.array(
              z.object({
                target: z.string().nullable(),
                operations: z.number(),
                p50Ms: z.number().nullable(),
                p95Ms: z.number().nullable(),
                maxMs: z.number().nullable(),
              }),
            ),
          }),
        },
      },
    },
    async (req) => ({
      items: await latencyStats(
        deps.database.pool,
        new Date(deps.clock.now().getTime() - req.query.hours * 3_600_000),
      ),
    }),
  );

  // ── Access per person, assignments ────────────────────────────────────────────────────────────────────────────
  app.get(
    '/people/:id/access',
    {
      config: { scope: 'people:read' },
      schema: {
        tags: ['people'],
        summary:
          'What the person has everywhere and should have, and why (rule, role, assignment); SoD findings',
        params: z.object({ id: z.uuid() }),
        response: { 200: json },
      },
    },
    async (req) =>
      (await personAccess(deps.database.pool, req.params.id, deps.clock.now())) as unknown as Record<
        string,
        unknown
      >,
  );

  app.post(
    '/assignments',
    {
      config: { scope: 'policy:write' },
      schema: {
        tags: ['policy'],
        summary:
          'Assign a role to a person explicitly (checked against SoD first), with optional validity dates',
        body: z
          .object({
            personId: z.uuid(),
            role: z.string().min(1).max(120),
            validFrom: z.iso.datetime({ offset: true }).optional(),
            validUntil: z.iso.datetime({ offset: true }).optional(),
            reason: z.string().max(2000),
          })
          .strict(),
        response: { 201: z.object({ id: z.uuid(), changeSet: recorded }) },
      },
    },
    async (req, reply) => {
      const b = req.body;
      const r = await transaction(deps.database, (tx) =>
        assignRole(tx, contextOf(req, deps), jobs, {
          personId: b.personId,
          role: b.role,
          reason: b.reason,
          ...(b.validFrom ? { validFrom: new Date(b.validFrom) } : {}),
          ...(b.validUntil ? { validUntil: new Date(b.validUntil) } : {}),
        }),
      );
      return reply.code(201).send(r);
    },
  );

  app.delete(
    '/assignments/:id',
    {
      config: { scope: 'policy:write' },
      schema: {
        tags: ['policy'],
        summary: 'Revoke an assignment; the access it gave is removed through a change set',
        params: z.object({ id: z.uuid() }),
        response: { 200: z.object({ changeSet: recorded }) },
      },
    },
    async (req) => ({
      changeSet: await transaction(deps.database, (tx) =>
        revokeAssignment(tx, contextOf(req, deps), jobs, req.params.id),
      ),
    }),
  );
}
