import { z } from 'zod';
import { transaction } from '../../../src/db/index.ts';
import {
  decideImport,
  getImport,
  importErrors,
  importErrorsCsv,
  listImports,
  listSources,
  maskPersonal,
  runImport,
  type ImportReport,
  updateSource,
} from '../../../src/hr/index.ts';
import { GatehouseError } from '../../../src/kit/errors.ts';
import { hasScope } from '../../../src/tokens/index.ts';
import type { FastifyRequest } from 'fastify';
import { contextOf } from '../auth.ts';
import type { AppDeps, Router } from '../app.ts';

/** Uploads up to this size (a 1M-row HR export is ~150 MB; larger files belong in the drop folder). */
export const UPLOAD_LIMIT_BYTES = 256 * 1024 * 1024;

const rowError = z.object({
  row: z.number().int(),
  column: z.string(),
  value: z.string().nullable(),
  code: z.string(),
  message: z.string(),
});
/** An event as an import or a REST change reports it (shared with the people routes). */
export const detectedEvent = z.object({
  type: z.string(),
  employeeId: z.string(),
  changes: z
    .record(z.string(), z.object({ from: z.string().nullable(), to: z.string().nullable() }))
    .optional(),
  effectiveAt: z.string().optional(),
});
const importReport = z.object({
  importId: z.string().nullable(),
  source: z.object({ name: z.string(), created: z.boolean(), wouldCreate: z.boolean().optional() }),
  state: z.string(),
  rows: z.number().int(),
  valid: z.number().int(),
  unchanged: z.number().int(),
  errors: z.array(rowError),
  events: z.array(detectedEvent),
  counts: z.record(z.string(), z.number()),
  heldReasons: z.array(z.string()),
  applied: z
    .object({
      created: z.number(),
      updated: z.number(),
      events: z.number(),
      scheduled: z.number(),
      duplicatesFlagged: z.number(),
    })
    .nullable(),
});
const importView = z.object({
  id: z.uuid(),
  source: z.string(),
  origin: z.string(),
  fileName: z.string().nullable(),
  sha256: z.string().nullable(),
  rows: z.number().int(),
  state: z.string(),
  summary: z.record(z.string(), z.unknown()),
  heldReason: z.string().nullable(),
  createdBy: z.string(),
  createdAt: z.string(),
  decidedBy: z.string().nullable(),
  appliedAt: z.string().nullable(),
});

/** Personal values in event changes only for callers allowed to see personal data. */
function masked(req: FastifyRequest, r: ImportReport): ImportReport {
  return hasScope(req.principal?.scopes ?? [], 'people:personal')
    ? r
    : { ...r, events: maskPersonal(r.events) };
}

export async function hrRoutes(app: Router, deps: AppDeps): Promise<void> {
  const importDeps = { database: deps.database, jobs: deps.jobs };
  // HR files arrive as the raw body (text/csv); the console sends the picked file as is.
  for (const type of ['text/csv', 'application/csv', 'text/plain', 'application/octet-stream'])
    app.addContentTypeParser(type, { parseAs: 'buffer', bodyLimit: UPLOAD_LIMIT_BYTES }, (_req, body, done) =>
      done(null, body),
    );

  app.get(
    '/hr/sources',
    {
      config: { scope: 'hr:read' },
      schema: { tags: ['hr'], summary: 'HR sources with their mapping and import rules' },
    },
    async () => ({ items: await listSources(deps.database.pool) }),
  );
  app.patch(
    '/hr/sources/:name',
    {
      config: { scope: 'hr:write' },
      schema: {
        tags: ['hr'],
        summary: 'Change a source: mapping, full export, all-or-nothing, brake, lead time, zone, drop folder',
        params: z.object({ name: z.string().max(63) }),
        body: z.record(z.string(), z.unknown()),
      },
    },
    async (req) =>
      transaction(deps.database, (tx) => updateSource(tx, contextOf(req, deps), req.params.name, req.body)),
  );
  app.post(
    '/hr/imports',
    {
      config: { scope: 'hr:write' },
      bodyLimit: UPLOAD_LIMIT_BYTES,
      schema: {
        tags: ['hr'],
        summary:
          'Upload an HR file (CSV body). mode=preview stores it for a later apply; apply applies it now (or holds it); dry-run only reports',
        querystring: z.object({
          source: z.string().min(1).max(63),
          fileName: z.string().max(255).optional(),
          mode: z.enum(['preview', 'apply', 'dry-run']).default('preview'),
        }),
        response: { 200: importReport },
      },
    },
    async (req) => {
      const body = req.body;
      if (!Buffer.isBuffer(body) || body.length === 0)
        throw new GatehouseError(
          'hr_file_empty',
          'send the HR file as the request body (Content-Type: text/csv)',
          {
            problems: [{ field: 'body', message: 'empty or not a file' }],
          },
        );
      return masked(
        req,
        await runImport(importDeps, contextOf(req, deps), {
          source: req.query.source,
          origin: 'upload',
          content: body,
          ...(req.query.fileName ? { fileName: req.query.fileName } : {}),
          dryRun: req.query.mode === 'dry-run',
          previewOnly: req.query.mode === 'preview',
        }),
      );
    },
  );
  app.get(
    '/hr/imports',
    {
      config: { scope: 'hr:read' },
      schema: {
        tags: ['hr'],
        summary: 'Recent imports, newest first',
        querystring: z.object({
          state: z.enum(['previewed', 'held', 'applied', 'rejected', 'failed']).optional(),
          limit: z.coerce.number().int().min(1).max(200).default(50),
        }),
        response: { 200: z.object({ items: z.array(importView) }) },
      },
    },
    async (req) => ({ items: await listImports(deps.database.pool, req.query) }),
  );
  app.get(
    '/hr/imports/:id',
    {
      config: { scope: 'hr:read' },
      schema: {
        tags: ['hr'],
        summary: 'One import with its summary and its first errors',
        params: z.object({ id: z.uuid() }),
        response: { 200: z.object({ import: importView, errors: z.array(rowError) }) },
      },
    },
    async (req) => ({
      import: await getImport(deps.database.pool, req.params.id),
      errors: await importErrors(deps.database.pool, req.params.id, { limit: 1000 }),
    }),
  );
  app.get(
    '/hr/imports/:id/errors.csv',
    {
      config: { scope: 'hr:read' },
      schema: {
        tags: ['hr'],
        summary: 'All row errors of an import as CSV',
        params: z.object({ id: z.uuid() }),
      },
    },
    async (req, reply) => {
      const text = await importErrorsCsv(deps.database.pool, req.params.id);
      return reply
        .type('text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="import-${req.params.id}-errors.csv"`)
        .send(text);
    },
  );
  for (const decision of ['apply', 'reject'] as const)
    app.post(
      `/hr/imports/:id/${decision}`,
      {
        config: { scope: 'hr:write' },
        schema: {
          tags: ['hr'],
          summary:
            decision === 'apply'
              ? 'Apply a previewed or held import (approves a held one; diffed again against the store as it is now)'
              : 'Reject a previewed or held import: nothing is applied',
          params: z.object({ id: z.uuid() }),
          body: z
            .object({
              approve: z
                .boolean()
                .optional()
                .describe('Apply although the safety brake holds the import (an approval, audited)'),
            })
            .strict()
            .nullish(),
          response: { 200: importReport },
        },
      },
      async (req) =>
        masked(
          req,
          await decideImport(importDeps, contextOf(req, deps), req.params.id, decision, {
            approve: req.body?.approve === true,
          }),
        ),
    );
}
