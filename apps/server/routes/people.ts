import { z } from 'zod';
import { listAudit } from '../../../src/audit/index.ts';
import { transaction } from '../../../src/db/index.ts';
import {
  acceptRename,
  renameOffer,
  dismissDuplicate,
  getPersonRow,
  listDuplicates,
  listPeople,
  mergePeople,
  viewOf,
} from '../../../src/identities/index.ts';
import { createPerson, listPersonEvents, terminatePerson, updatePerson } from '../../../src/hr/index.ts';
import { HR_FIELDS, PERSON_STATUSES, WORKER_TYPES } from '../../../src/hr/types.ts';
import { hasScope } from '../../../src/tokens/index.ts';
import { contextOf } from '../auth.ts';
import type { AppDeps, Router } from '../app.ts';
import { detectedEvent } from './hr.ts';
import type { FastifyRequest } from 'fastify';

const nullable = z.string().nullable();
export const personView = z.object({
  id: z.uuid(),
  sourceId: z.uuid(),
  employeeId: z.string(),
  firstName: z.string(),
  lastName: z.string(),
  preferredName: nullable,
  displayName: z.string(),
  username: nullable,
  workEmail: nullable,
  department: nullable,
  title: nullable,
  costCenter: nullable,
  location: nullable,
  timeZone: nullable,
  managerEmployeeId: nullable,
  workerType: z.enum(WORKER_TYPES),
  status: z.enum(PERSON_STATUSES),
  hireDate: nullable,
  terminationDate: nullable,
  terminationAt: nullable,
  attributes: z.record(z.string(), z.string()),
  personal: z
    .object({ personalEmail: nullable, mobilePhone: nullable, birthDate: nullable })
    .nullable()
    .describe('Personal data; null unless the caller has the people:personal permission'),
  mergedInto: z.string().nullable(),
  version: z.number().int(),
  createdAt: z.string(),
  updatedAt: z.string(),
});

const eventView = z.object({
  id: z.uuid(),
  personId: z.uuid(),
  type: z.string(),
  changes: z.record(z.string(), z.object({ from: nullable, to: nullable })).nullable(),
  effectiveAt: z.string(),
  state: z.enum(['scheduled', 'pending', 'done', 'cancelled']),
  importId: z.string().nullable(),
  createdAt: z.string(),
  doneAt: z.string().nullable(),
});

const personInput = z
  .object(Object.fromEntries(HR_FIELDS.map((f) => [f, z.string().max(256).nullable().optional()])))
  .extend({ attributes: z.record(z.string().max(128), z.string().max(1024)).optional() })
  .strict();

const csv = (values: readonly string[]) =>
  z
    .string()
    .optional()
    .transform((s, c) => {
      if (!s) return undefined;
      const parts = s.split(',').map((x) => x.trim());
      for (const p of parts)
        if (!values.includes(p)) {
          c.addIssue({ code: 'custom', message: `"${p}" is not one of ${values.join(', ')}` });
          return z.NEVER;
        }
      return parts as never[];
    });

function withPersonal(req: FastifyRequest): boolean {
  return hasScope(req.principal?.scopes ?? [], 'people:personal');
}

export async function peopleRoutes(app: Router, deps: AppDeps): Promise<void> {
  const importDeps = { database: deps.database, jobs: deps.jobs };
  app.get(
    '/people',
    {
      config: { scope: 'people:read' },
      schema: {
        tags: ['people'],
        summary: 'List people: search (names, employee id, username), filters, keyset paging',
        querystring: z.object({
          q: z.string().max(200).optional(),
          status: csv(PERSON_STATUSES),
          workerType: csv(WORKER_TYPES),
          department: z.string().max(256).optional(),
          sourceId: z.uuid().optional(),
          hiredFrom: z.string().optional(),
          hiredTo: z.string().optional(),
          sort: z.enum(['name', 'hire_date', 'employee_id']).optional(),
          order: z.enum(['asc', 'desc']).optional(),
          limit: z.coerce.number().int().min(1).max(500).default(50),
          cursor: z.string().max(2000).optional(),
        }),
        response: {
          200: z.object({
            items: z.array(personView),
            nextCursor: z.string().nullable(),
            total: z.number().int(),
            totalCapped: z.boolean(),
          }),
        },
      },
    },
    async (req) => {
      const page = await listPeople(deps.database.pool, req.query);
      const personalOk = withPersonal(req);
      return { ...page, items: page.items.map((r) => viewOf(r, personalOk)) };
    },
  );
  app.get(
    '/people/departments',
    {
      config: { scope: 'people:read' },
      schema: {
        tags: ['people'],
        summary: 'Departments in use (for filters)',
        response: { 200: z.object({ items: z.array(z.string()) }) },
      },
    },
    async () => {
      const r = await deps.database.pool.query<{ department: string }>(
        // A loose index scan would be faster on huge tables; the department index keeps this cheap enough.
        'select distinct department from people where department is not null order by 1 limit 1000',
      );
      return { items: r.rows.map((x) => x.department) };
    },
  );
  app.get(
    '/people/duplicates',
    {
      config: { scope: 'people:read' },
      schema: {
        tags: ['people'],
        summary: 'Likely duplicates (one human under two employee ids)',
        querystring: z.object({ state: z.enum(['open', 'merged', 'dismissed']).default('open') }),
        response: {
          200: z.object({
            items: z.array(
              z.object({
                id: z.uuid(),
                score: z.number(),
                reasons: z.array(z.string()),
                state: z.string(),
                createdAt: z.string(),
                a: personView,
                b: personView,
              }),
            ),
          }),
        },
      },
    },
    async (req) => ({
      items: await listDuplicates(deps.database.pool, {
        state: req.query.state,
        withPersonal: withPersonal(req),
      }),
    }),
  );
  app.post(
    '/people/duplicates/:id/dismiss',
    {
      config: { scope: 'people:write' },
      schema: {
        tags: ['people'],
        summary: 'Not a duplicate: two different people',
        params: z.object({ id: z.uuid() }),
        response: { 204: z.null() },
      },
    },
    async (req, reply) => {
      await transaction(deps.database, (tx) => dismissDuplicate(tx, contextOf(req, deps), req.params.id));
      return reply.code(204).send(null);
    },
  );
  app.post(
    '/people/merge',
    {
      config: { scope: 'people:write' },
      schema: {
        tags: ['people'],
        summary: 'Merge two records of one human: keep one, the other points to it (history kept, audited)',
        body: z.object({ keep: z.uuid(), drop: z.uuid() }).strict(),
        response: { 200: personView },
      },
    },
    async (req) => {
      await transaction(deps.database, (tx) =>
        mergePeople(tx, contextOf(req, deps), req.body.keep, req.body.drop),
      );
      return viewOf(await getPersonRow(deps.database.pool, req.body.keep), withPersonal(req));
    },
  );
  app.get(
    '/people/:id',
    {
      config: { scope: 'people:read' },
      schema: {
        tags: ['people'],
        summary: 'A person with their events (past and scheduled) and history',
        params: z.object({ id: z.uuid() }),
        response: {
          200: z.object({
            person: personView,
            manager: z.object({ id: z.uuid(), displayName: z.string(), employeeId: z.string() }).nullable(),
            mergedFrom: z.array(z.object({ id: z.uuid(), employeeId: z.string() })),
            events: z.array(eventView),
          }),
        },
      },
    },
    async (req) => {
      const row = await getPersonRow(deps.database.pool, req.params.id);
      const merged = await deps.database.pool.query<{ id: string; employee_id: string }>(
        'select id, employee_id from people where merged_into = $1',
        [row.id],
      );
      const mgr = row.manager_employee_id
        ? await deps.database.pool.query<{ id: string; display_name: string; employee_id: string }>(
            `select id, display_name, employee_id from people
             where source_id = $1 and employee_id = $2 and merged_into is null`,
            [row.source_id, row.manager_employee_id],
          )
        : null;
      const m = mgr?.rows[0];
      return {
        person: viewOf(row, withPersonal(req)),
        manager: m ? { id: m.id, displayName: m.display_name, employeeId: m.employee_id } : null,
        mergedFrom: merged.rows.map((r) => ({ id: r.id, employeeId: r.employee_id })),
        events: await listPersonEvents(deps.database.pool, [row.id, ...merged.rows.map((r) => r.id)]),
      };
    },
  );
  app.get(
    '/people/:id/history',
    {
      config: { scope: 'people:read' },
      schema: {
        tags: ['people'],
        summary: "A person's history: every change, who made it and when (from the audit trail)",
        params: z.object({ id: z.uuid() }),
        querystring: z.object({ cursor: z.coerce.number().int().min(0).optional() }),
      },
    },
    async (req) => {
      await getPersonRow(deps.database.pool, req.params.id);
      const merged = await deps.database.pool.query<{ id: string }>(
        'select id from people where merged_into = $1',
        [req.params.id],
      );
      return listAudit(deps.database, {
        subjectType: 'person',
        subjectIds: [req.params.id, ...merged.rows.map((r) => r.id)],
        order: 'desc',
        limit: 100,
        ...(req.query.cursor !== undefined ? { cursor: req.query.cursor } : {}),
        hidePersonal: !withPersonal(req),
      });
    },
  );
  const names = z.object({ username: z.string(), workEmail: z.string(), displayName: z.string() });
  app.get(
    '/people/:id/rename',
    {
      config: { scope: 'people:read' },
      schema: {
        tags: ['people'],
        summary:
          'The names the naming standard would give now (after a name change); null when they still fit',
        params: z.object({ id: z.uuid() }),
        response: { 200: z.object({ offer: names.nullable() }) },
      },
    },
    async (req) => ({ offer: await renameOffer(deps.database, req.params.id, deps.clock.now()) }),
  );
  app.post(
    '/people/:id/rename',
    {
      config: { scope: 'people:write' },
      schema: {
        tags: ['people'],
        summary: 'Accept the rename offer: new names reserved, old ones released after the embargo (audited)',
        params: z.object({ id: z.uuid() }),
        response: { 200: names },
      },
    },
    async (req) => transaction(deps.database, (tx) => acceptRename(tx, contextOf(req, deps), req.params.id)),
  );
  app.post(
    '/people',
    {
      config: { scope: 'people:write' },
      schema: {
        tags: ['people'],
        summary: 'Create a person (the same validation, events and audit as an HR file)',
        querystring: z.object({ source: z.string().max(63).default('api') }),
        body: personInput,
        response: { 201: z.object({ person: personView, events: z.array(detectedEvent) }) },
      },
    },
    async (req, reply) => {
      const r = await createPerson(importDeps, contextOf(req, deps), req.query.source, req.body);
      return reply
        .code(201)
        .send({ ...r, person: { ...r.person, personal: withPersonal(req) ? r.person.personal : null } });
    },
  );
  app.patch(
    '/people/:id',
    {
      config: { scope: 'people:write' },
      schema: {
        tags: ['people'],
        summary: 'Change fields of a person; null clears a field',
        params: z.object({ id: z.uuid() }),
        body: personInput,
        response: { 200: z.object({ person: personView, events: z.array(detectedEvent) }) },
      },
    },
    async (req) => {
      const r = await updatePerson(importDeps, contextOf(req, deps), req.params.id, req.body);
      return { ...r, person: { ...r.person, personal: withPersonal(req) ? r.person.personal : null } };
    },
  );
  app.post(
    '/people/:id/terminate',
    {
      config: { scope: 'people:write' },
      schema: {
        tags: ['people'],
        summary: 'Terminate now, on a date (end of that day in their zone) or at an instant',
        params: z.object({ id: z.uuid() }),
        body: z
          .object({ at: z.string().max(40).optional() })
          .strict()
          .default({}),
        response: { 200: z.object({ person: personView, events: z.array(detectedEvent) }) },
      },
    },
    async (req) => {
      const r = await terminatePerson(importDeps, contextOf(req, deps), req.params.id, req.body.at);
      return { ...r, person: { ...r.person, personal: withPersonal(req) ? r.person.personal : null } };
    },
  );
}
