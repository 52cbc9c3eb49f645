import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import type { Command } from 'commander';
import { transaction } from '../../src/db/index.ts';
import {
  decideImport,
  listImports,
  listSources,
  runImport,
  updateSource,
  type ImportReport,
  type ImportView,
  type HrSource,
} from '../../src/hr/index.ts';
import { getPersonRow, listPeople, viewOf, type PersonView } from '../../src/identities/index.ts';
import { GatehouseError } from '../../src/kit/errors.ts';
import { cliContext, config, jsonOption, run, withRuntime } from './common.ts';
import { EXIT, table, type Out } from './output.ts';
import { api } from './remote.ts';

function usage(message: string, field: string, value?: unknown): GatehouseError {
  return new GatehouseError('usage_invalid', message, { status: 400, problems: [{ field, message, value }] });
}

const plural = (n: number, word: string) => `${n.toLocaleString('en-US')} ${word}${n === 1 ? '' : 's'}`;

/** The import report for people: what happened, the events by type, and every row error. */
function printReport(r: ImportReport, out: Out): void {
  if (r.source.created) out.line(`Created HR source "${r.source.name}" with the default column mapping.`);
  if (r.source.wouldCreate)
    out.line(
      `HR source "${r.source.name}" does not exist yet; a real import creates it with the default mapping.`,
    );
  const counts = Object.entries(r.counts)
    .map(([t, n]) => `${n} ${t}`)
    .join(', ');
  out.line(
    `${plural(r.rows, 'row')}: ${r.valid} valid, ${r.unchanged} unchanged, ${plural(r.errors.length, 'error')}; events: ${counts || 'none'}.`,
  );
  for (const e of r.errors) out.line(`  row ${e.row}, ${e.column}: ${e.message} [${e.code}]`);
  if (r.events.length && r.events.length <= 50)
    for (const e of r.events)
      out.line(
        `  ${e.type.padEnd(16)} ${e.employeeId}${e.effectiveAt ? ` (effective ${e.effectiveAt})` : ''}${
          e.changes && e.type !== 'joiner'
            ? `: ${Object.entries(e.changes)
                .map(([k, c]) => `${k} ${c.from ?? '∅'} → ${c.to ?? '∅'}`)
                .join(', ')}`
            : ''
        }`,
      );
  switch (r.state) {
    case 'dry_run':
      out.line('Dry run: nothing was changed.');
      break;
    case 'held':
      out.line('HELD for approval, nothing applied:');
      for (const h of r.heldReasons) out.line(`  ${h}`);
      out.line(`Approve with: gatehouse hr imports approve ${r.importId}   (or reject)`);
      break;
    case 'rejected':
      for (const h of r.heldReasons) out.line(h);
      break;
    case 'applied':
      if (r.applied)
        out.line(
          `Applied (import ${r.importId}): ${r.applied.created} created, ${r.applied.updated} updated, ${r.applied.events} events (${r.applied.scheduled} scheduled)${r.applied.duplicatesFlagged ? `, ${r.applied.duplicatesFlagged} likely duplicates flagged` : ''}.`,
        );
      break;
    default:
      out.line(`Import ${r.importId}: ${r.state}.`);
  }
}

function exitFor(r: ImportReport): number {
  if (r.state === 'held' || r.state === 'rejected') return EXIT.checkFailed;
  return r.errors.length ? EXIT.failure : EXIT.ok;
}

export function registerHrCommands(program: Command): void {
  const hr = program.command('hr').description('HR sources and imports');
  hr.command('import')
    .description('Import an HR file (CSV): validate, detect joiners, movers and leavers, and apply')
    .argument('<file>', 'CSV file (UTF-8, "," or ";", header row)')
    .requiredOption('--source <name>', 'HR source name; created with the default mapping if new')
    .option('--dry-run', 'report rows, errors and events; change nothing')
    .addOption(jsonOption())
    .addHelpText(
      'after',
      `
Exit codes: 0 applied (or dry run) without row errors, 1 some rows had errors (the valid ones were applied unless
the source is all-or-nothing), 2 the file or options cannot be used, 3 held for approval (safety brake) or rejected.`,
    )
    .action(
      run<{ source: string; dryRun?: boolean; json?: boolean }>(async (o, out, cmd) => {
        const file = cmd.args[0]!;
        const content = await readFile(file).catch((e: NodeJS.ErrnoException) => {
          throw usage(
            e.code === 'ENOENT' ? `no such file: ${file}` : `cannot read ${file}: ${e.message}`,
            'file',
            file,
          );
        });
        const cfg = config();
        const r = cfg.remoteUrl
          ? await api<ImportReport>(
              cfg,
              'POST',
              `/api/v1/hr/imports?source=${encodeURIComponent(o.source)}&fileName=${encodeURIComponent(basename(file))}&mode=${o.dryRun ? 'dry-run' : 'apply'}`,
              content,
            )
          : await withRuntime(
              cfg,
              'hr import',
              (rt) =>
                runImport({ database: rt.database, jobs: rt.jobs }, cliContext(rt), {
                  source: o.source,
                  origin: 'cli',
                  fileName: basename(file),
                  content,
                  dryRun: o.dryRun === true,
                }),
              { jobs: true },
            );
        if (out.json) out.data(r);
        else printReport(r, out);
        return exitFor(r);
      }),
    );

  const imports = hr.command('imports').description('Recent imports; approve or reject held ones');
  imports
    .command('list')
    .option('--state <state>', 'previewed, held, applied or rejected')
    .addOption(jsonOption())
    .action(
      run<{ state?: string; json?: boolean }>(async (o, out) => {
        const cfg = config();
        const items = cfg.remoteUrl
          ? (
              await api<{ items: ImportView[] }>(
                cfg,
                'GET',
                `/api/v1/hr/imports${o.state ? `?state=${o.state}` : ''}`,
              )
            ).items
          : await withRuntime(cfg, 'hr imports list', (rt) =>
              listImports(rt.database.pool, o.state ? { state: o.state as ImportView['state'] } : {}),
            );
        if (out.json) out.data({ items });
        else if (items.length === 0) out.line('No imports yet. Run: gatehouse hr import FILE --source NAME');
        else
          out.line(
            table(items as unknown as Record<string, unknown>[], [
              'id',
              'source',
              'state',
              'rows',
              'fileName',
              'createdAt',
            ]),
          );
      }),
    );
  for (const [name, decision] of [
    ['approve', 'apply'],
    ['reject', 'reject'],
  ] as const)
    imports
      .command(name)
      .description(
        decision === 'apply' ? 'Apply a held or previewed import' : 'Reject a held or previewed import',
      )
      .argument('<id>', 'import id')
      .addOption(jsonOption())
      .action(
        run<{ json?: boolean }>(async (o, out, cmd) => {
          const id = cmd.args[0]!;
          const cfg = config();
          const r = cfg.remoteUrl
            ? await api<ImportReport>(
                cfg,
                'POST',
                `/api/v1/hr/imports/${encodeURIComponent(id)}/${decision}`,
                {},
              )
            : await withRuntime(
                cfg,
                `hr imports ${name}`,
                (rt) =>
                  decideImport({ database: rt.database, jobs: rt.jobs }, cliContext(rt), id, decision, {
                    approve: true,
                  }),
                { jobs: true },
              );
          if (out.json) out.data(r);
          else printReport(r, out);
        }),
      );

  const sources = hr.command('sources').description('HR sources');
  sources
    .command('list')
    .addOption(jsonOption())
    .action(
      run<{ json?: boolean }>(async (o, out) => {
        const cfg = config();
        const items = cfg.remoteUrl
          ? (await api<{ items: HrSource[] }>(cfg, 'GET', '/api/v1/hr/sources')).items
          : await withRuntime(cfg, 'hr sources list', (rt) => listSources(rt.database.pool));
        if (out.json) out.data({ items });
        else if (items.length === 0)
          out.line('No HR sources yet. The first "gatehouse hr import --source NAME" creates one.');
        else
          out.line(
            table(items as unknown as Record<string, unknown>[], [
              'name',
              'fullExport',
              'allOrNothing',
              'brakeRatio',
              'leadTimeDays',
              'defaultTimeZone',
              'dropFolder',
            ]),
          );
      }),
    );
  sources
    .command('set')
    .description('Change the rules of a source')
    .argument('<name>', 'source name')
    .option('--full-export <yes|no>', 'the file lists everyone: missing people are leavers')
    .option('--all-or-nothing <yes|no>', 'any bad row rejects the whole file')
    .option('--brake-ratio <ratio>', 'hold imports terminating more than this share of people (0–1)')
    .option('--lead-time-days <n>', 'days before a future hire date that the joiner takes effect')
    .option('--time-zone <zone>', 'IANA zone for people without one')
    .option('--drop-folder <path>', 'folder watched for new files ("none" to stop)')
    .addOption(jsonOption())
    .action(
      run<{
        fullExport?: string;
        allOrNothing?: string;
        brakeRatio?: string;
        leadTimeDays?: string;
        timeZone?: string;
        dropFolder?: string;
        json?: boolean;
      }>(async (o, out, cmd) => {
        const yesNo = (v: string | undefined, field: string) => {
          if (v === undefined) return undefined;
          if (/^(yes|true|on)$/i.test(v)) return true;
          if (/^(no|false|off)$/i.test(v)) return false;
          throw usage(`${field} must be yes or no, not "${v}"`, field, v);
        };
        const num = (v: string | undefined, field: string) => {
          if (v === undefined) return undefined;
          const n = Number(v);
          if (!Number.isFinite(n)) throw usage(`${field} must be a number, not "${v}"`, field, v);
          return n;
        };
        const settings = {
          ...(o.fullExport !== undefined ? { fullExport: yesNo(o.fullExport, '--full-export') } : {}),
          ...(o.allOrNothing !== undefined
            ? { allOrNothing: yesNo(o.allOrNothing, '--all-or-nothing') }
            : {}),
          ...(o.brakeRatio !== undefined ? { brakeRatio: num(o.brakeRatio, '--brake-ratio') } : {}),
          ...(o.leadTimeDays !== undefined ? { leadTimeDays: num(o.leadTimeDays, '--lead-time-days') } : {}),
          ...(o.timeZone !== undefined ? { defaultTimeZone: o.timeZone } : {}),
          ...(o.dropFolder !== undefined
            ? { dropFolder: o.dropFolder === 'none' ? null : o.dropFolder }
            : {}),
        };
        const name = cmd.args[0]!;
        const cfg = config();
        const s = cfg.remoteUrl
          ? await api<HrSource>(cfg, 'PATCH', `/api/v1/hr/sources/${encodeURIComponent(name)}`, settings)
          : await withRuntime(cfg, 'hr sources set', (rt) =>
              transaction(rt.database, (tx) => updateSource(tx, cliContext(rt), name, settings)),
            );
        if (out.json) out.data(s);
        else out.line(`Updated HR source "${s.name}".`);
      }),
    );

  const people = program.command('people').description('People from HR');
  people
    .command('list')
    .option('--q <text>', 'search names, employee ids and usernames')
    .option('--status <list>', 'prehire,active,on_leave,terminated')
    .option('--limit <n>', 'how many', '50')
    .addOption(jsonOption())
    .action(
      run<{ q?: string; status?: string; limit: string; json?: boolean }>(async (o, out) => {
        const limit = Number(o.limit);
        if (!Number.isInteger(limit) || limit < 1 || limit > 500)
          throw usage(`--limit must be a whole number from 1 to 500, not "${o.limit}"`, '--limit', o.limit);
        const cfg = config();
        const params = new URLSearchParams({ limit: String(limit) });
        if (o.q) params.set('q', o.q);
        if (o.status) params.set('status', o.status);
        const items = cfg.remoteUrl
          ? (await api<{ items: PersonView[] }>(cfg, 'GET', `/api/v1/people?${params}`)).items
          : await withRuntime(cfg, 'people list', async (rt) =>
              (
                await listPeople(rt.database.pool, {
                  ...(o.q ? { q: o.q } : {}),
                  ...(o.status ? { status: o.status.split(',') as PersonView['status'][] } : {}),
                  limit,
                })
              ).items.map((r) => viewOf(r, false)),
            );
        if (out.json) out.data({ items });
        else if (items.length === 0) out.line('No people match.');
        else
          out.line(
            table(items as unknown as Record<string, unknown>[], [
              'employeeId',
              'displayName',
              'username',
              'status',
              'department',
              'title',
              'hireDate',
            ]),
          );
      }),
    );
  people
    .command('show')
    .argument('<id>', 'person id')
    .addOption(jsonOption())
    .action(
      run<{ json?: boolean }>(async (o, out, cmd) => {
        const id = cmd.args[0]!;
        const cfg = config();
        const p = cfg.remoteUrl
          ? (await api<{ person: PersonView }>(cfg, 'GET', `/api/v1/people/${encodeURIComponent(id)}`)).person
          : await withRuntime(cfg, 'people show', async (rt) =>
              viewOf(await getPersonRow(rt.database.pool, id), true),
            );
        if (out.json) out.data(p);
        else
          for (const [k, v] of Object.entries(p))
            out.line(
              `${k.padEnd(18)} ${typeof v === 'object' && v !== null ? JSON.stringify(v) : (v ?? '-')}`,
            );
      }),
    );
}
