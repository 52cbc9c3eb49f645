import { z } from 'zod';
import { transaction } from '../../../src/db/index.ts';
import {
  FINDING_KINDS,
  FINDING_STATUSES,
  RECONCILE_QUEUE,
  SEVERITIES,
  acceptFinding,
  accessReport,
  findingsReport,
  getFinding,
  listReconcileSchedules,
  setReconcileSchedule,
  linkObject,
  listFindings,
  listRuns,
  reconStatus,
  reconcileTarget,
  remediateFindings,
} from '../../../src/reconcile/index.ts';
import { csvFileName, toCsv, toXlsx, xlsxFileName, type Report } from '../../../src/reports/index.ts';
import { getTarget } from '../../../src/targets/index.ts';
import { contextOf } from '../auth.ts';
import type { AppDeps, Router } from '../app.ts';

const json = z.record(z.string(), z.unknown());
const idParam = z.object({ id: z.string().min(1).max(64) });
const findingQuery = z
  .object({
    target: z.string().max(63).optional(),
    kind: z.enum(FINDING_KINDS).optional(),
    severity: z.enum(SEVERITIES).optional(),
    status: z.enum([...FINDING_STATUSES, 'all']).optional(),
    personId: z.uuid().optional(),
    q: z.string().max(200).optional(),
    before: z
      .string()
      .regex(/^\d:\d+$/, 'the `next` of the previous page')
      .optional(),
    limit: z.coerce.number().int().min(1).max(500).optional(),
  })
  .strict();
const format = z.object({ format: z.enum(['csv', 'xlsx']) });

const XLSX_TYPE = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';

export async function reconcileRoutes(app: Router, deps: AppDeps): Promise<void> {
  const jobs = { jobs: deps.jobs };
  const send = (
    reply: { header(k: string, v: string): unknown; type(t: string): unknown },
    report: Report,
    fmt: 'csv' | 'xlsx',
  ) => {
    const now = deps.clock.now();
    const name = fmt === 'csv' ? csvFileName(report, now) : xlsxFileName(report, now);
    reply.header('content-disposition', `attachment; filename="${name}"`);
    reply.type(fmt === 'csv' ? 'text/csv; charset=utf-8' : XLSX_TYPE);
    return fmt === 'csv' ? toCsv(report) : toXlsx(report);
  };

  app.post(
    '/targets/:name/reconcile',
    {
      config: { scope: 'recon:write' },
      schema: {
        tags: ['reconciliation'],
        summary:
          'Reconcile a target: queued for a worker (202), or run now and answered with the run when `wait` is true',
        params: z.object({ name: z.string().min(1).max(63) }),
        // No body at all (Fastify gives null) means the defaults.
        body: z.preprocess(
          (v) => v ?? {},
          z
            .object({
              mode: z.enum(['full', 'incremental']).default('full'),
              force: z.boolean().default(false),
              wait: z.boolean().default(false),
            })
            .strict(),
        ),
        response: { 200: json, 202: z.object({ queued: z.literal(true), target: z.string() }) },
      },
    },
    async (req, reply) => {
      const ctx = contextOf(req, deps);
      const target = await getTarget(deps.database.pool, req.params.name);
      if (req.body.wait)
        return (await reconcileTarget(deps, ctx, {
          target: target.name,
          mode: req.body.mode,
          force: req.body.force,
        })) as unknown as Record<string, unknown>;
      await deps.jobs.send(
        RECONCILE_QUEUE,
        {
          target: target.name,
          mode: req.body.mode,
          force: req.body.force,
          by: ctx.actor.name ?? ctx.actor.id,
        },
        { singletonKey: `reconcile:${target.name}` },
      );
      return reply.code(202).send({ queued: true as const, target: target.name });
    },
  );

  app.get(
    '/reconciliation',
    {
      config: { scope: 'recon:read' },
      schema: {
        tags: ['reconciliation'],
        summary: 'Every target: its last run, accounts seen, unmatched accounts, open findings by severity',
        response: { 200: z.object({ items: z.array(json) }) },
      },
    },
    async () => ({ items: (await reconStatus(deps.database.pool)) as unknown as Record<string, unknown>[] }),
  );

  app.get(
    '/reconciliation/schedules',
    {
      config: { scope: 'recon:read' },
      schema: {
        tags: ['reconciliation'],
        summary: 'Scheduled reconciliations: per target the cron, zone, mode and the next three runs',
        response: { 200: z.object({ items: z.array(json) }) },
      },
    },
    async () => ({
      items: (await listReconcileSchedules(deps)) as unknown as Record<string, unknown>[],
    }),
  );

  app.put(
    '/targets/:name/reconcile-schedule',
    {
      config: { scope: 'recon:write' },
      schema: {
        tags: ['reconciliation'],
        summary: 'Reconcile a target on a schedule (cron in an IANA zone, at most every 15 minutes)',
        params: z.object({ name: z.string().min(1).max(63) }),
        body: z
          .object({
            cron: z.string().min(1).max(200),
            timeZone: z.string().min(1).max(64).default('UTC'),
            mode: z.enum(['full', 'incremental']).default('full'),
          })
          .strict(),
        response: { 200: json },
      },
    },
    async (req) =>
      (await setReconcileSchedule(
        deps,
        contextOf(req, deps),
        req.params.name,
        req.body,
      )) as unknown as Record<string, unknown>,
  );

  app.delete(
    '/targets/:name/reconcile-schedule',
    {
      config: { scope: 'recon:write' },
      schema: {
        tags: ['reconciliation'],
        summary: 'Stop reconciling a target on a schedule',
        params: z.object({ name: z.string().min(1).max(63) }),
        response: { 204: z.null() },
      },
    },
    async (req, reply) => {
      await setReconcileSchedule(deps, contextOf(req, deps), req.params.name, null);
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/reconciliation/runs',
    {
      config: { scope: 'recon:read' },
      schema: {
        tags: ['reconciliation'],
        summary: 'Run history, newest first (counts, duration per step, findings opened and closed)',
        querystring: z
          .object({
            target: z.string().max(63).optional(),
            limit: z.coerce.number().int().min(1).max(500).optional(),
          })
          .strict(),
        response: { 200: z.object({ items: z.array(json) }) },
      },
    },
    async (req) => ({
      items: (await listRuns(deps.database.pool, req.query)) as unknown as Record<string, unknown>[],
    }),
  );

  app.get(
    '/findings',
    {
      config: { scope: 'recon:read' },
      schema: {
        tags: ['reconciliation'],
        summary: 'Findings, most severe first (default: open ones); `before` pages',
        querystring: findingQuery,
        response: { 200: z.object({ items: z.array(json), total: z.number(), next: z.string().nullable() }) },
      },
    },
    async (req) => {
      const r = await listFindings(deps.database.pool, req.query);
      return { ...r, items: r.items as unknown as Record<string, unknown>[] };
    },
  );

  app.get(
    '/findings/:id',
    {
      config: { scope: 'recon:read' },
      schema: {
        tags: ['reconciliation'],
        summary: 'One finding (by id or number) with its evidence',
        params: idParam,
        response: { 200: json },
      },
    },
    async (req) =>
      (await getFinding(deps.database.pool, req.params.id)) as unknown as Record<string, unknown>,
  );

  app.post(
    '/findings/remediate',
    {
      config: { scope: 'recon:write' },
      schema: {
        tags: ['reconciliation'],
        summary: 'Plan one change set fixing these findings; it waits for approval by someone else',
        body: z.object({ ids: z.array(z.uuid()).min(1).max(5000) }).strict(),
        response: { 200: z.object({ changeSet: json }) },
      },
    },
    async (req) => ({
      changeSet: (await transaction(deps.database, (tx) =>
        remediateFindings(tx, contextOf(req, deps), jobs, req.body.ids),
      )) as unknown as Record<string, unknown>,
    }),
  );

  app.post(
    '/findings/:id/accept',
    {
      config: { scope: 'findings:approve' },
      schema: {
        tags: ['reconciliation'],
        summary: 'Accept the risk until a date (at most a year), with a justification; you are its approver',
        params: idParam,
        body: z
          .object({
            justification: z.string().max(2000),
            until: z.iso.datetime({ offset: true }).or(z.iso.date()),
          })
          .strict(),
        response: { 200: json },
      },
    },
    async (req) => {
      const finding = await getFinding(deps.database.pool, req.params.id);
      await transaction(deps.database, (tx) =>
        acceptFinding(tx, contextOf(req, deps), finding.id, {
          justification: req.body.justification,
          until: new Date(req.body.until),
        }),
      );
      return (await getFinding(deps.database.pool, finding.id)) as unknown as Record<string, unknown>;
    },
  );

  app.post(
    '/recon-objects/:id/link',
    {
      config: { scope: 'recon:write' },
      schema: {
        tags: ['reconciliation'],
        summary: 'Link an observed account to its owner (confirm a suggestion, or by hand); kept across runs',
        params: idParam,
        body: z.object({ personId: z.uuid() }).strict(),
        response: { 204: z.null() },
      },
    },
    async (req, reply) => {
      await transaction(deps.database, (tx) =>
        linkObject(tx, contextOf(req, deps), req.params.id, req.body.personId),
      );
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/reports/findings.:format',
    {
      config: { scope: 'recon:read' },
      schema: {
        tags: ['reconciliation'],
        summary:
          'Findings as CSV or XLSX (same filters as /findings), with the date and the runs they come from',
        params: format,
        querystring: findingQuery.omit({ before: true, limit: true }),
      },
    },
    async (req, reply) =>
      send(reply, await findingsReport(deps.database.pool, req.query, deps.clock.now()), req.params.format),
  );

  app.get(
    '/reports/access.:format',
    {
      config: { scope: 'recon:read' },
      schema: {
        tags: ['reconciliation'],
        summary:
          'Who has what: every account as last read, its owner, the roles the owner holds and its groups (CSV or XLSX); by target, department, person or role',
        params: format,
        querystring: z
          .object({
            target: z.string().max(63).optional(),
            department: z.string().max(200).optional(),
            personId: z.uuid().optional(),
            role: z.string().max(200).optional(),
          })
          .strict(),
      },
    },
    async (req, reply) =>
      send(reply, await accessReport(deps.database.pool, req.query, deps.clock.now()), req.params.format),
  );
}
