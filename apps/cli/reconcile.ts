import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import type { Config } from '../../src/config/index.ts';
import { transaction } from '../../src/db/index.ts';
import { GatehouseError } from '../../src/kit/errors.ts';
import {
  FINDING_KINDS,
  FINDING_STATUSES,
  SEVERITIES,
  acceptFinding,
  accessReport,
  findingsReport,
  getFinding,
  listFindings,
  listReconcileSchedules,
  reconcileTarget,
  remediateFindings,
  setReconcileSchedule,
  type FindingQuery,
  type FindingView,
  type RunResult,
  type ScheduleView,
} from '../../src/reconcile/index.ts';
import type { Runtime } from '../../src/runtime/index.ts';
import type { RecordedChangeSet } from '../../src/provisioning/index.ts';
import { toCsv, toXlsx } from '../../src/reports/index.ts';
import { call, cliContext, config, jsonOption, run, withRuntime } from './common.ts';
import { EXIT, table, type Out } from './output.ts';
import { api } from './remote.ts';

const q = encodeURIComponent;

const usage = (message: string, field: string) =>
  new GatehouseError('usage_invalid', message, { status: 400, problems: [{ field, message }] });

function printRun(r: RunResult, out: Out): void {
  const c = r.counts;
  out.line(`Run #${r.seq} of ${r.target} (${r.mode}): ${r.status}.`);
  if (r.reason) out.line(`  ${r.reason}`);
  if (r.status !== 'completed') return;
  out.line(
    `  ${c.read} accounts read (${c.new} new, ${c.changed} changed, ${c.gone} gone); owners: ${c.managed} managed by Gatehouse, ${c.rule} by rule, ${c.manual} linked by hand, ${c.unmatched} without owner${c.suggested ? ` (${c.suggested} with a suggestion)` : ''}.`,
  );
  out.line(
    `  Findings: ${r.findingsOpened} opened, ${r.findingsClosed} closed. See them with: gatehouse findings list --target ${r.target}`,
  );
  if (c.seconds)
    out.line(
      `  Time: read ${c.seconds.read}s, merge ${c.seconds.merge}s, correlate ${c.seconds.correlate}s, findings ${c.seconds.findings}s.`,
    );
}

function printSchedules(list: readonly ScheduleView[], out: Out): void {
  out.line(
    table(
      list.map((s) => ({
        target: s.target,
        cron: s.cron,
        'time zone': s.timeZone,
        mode: s.mode,
        'next run': s.next[0],
      })),
      ['target', 'cron', 'time zone', 'mode', 'next run'],
    ),
  );
}

function findingQuery(o: {
  target?: string;
  kind?: string;
  severity?: string;
  status?: string;
}): FindingQuery {
  const check = (v: string | undefined, allowed: readonly string[], flag: string) => {
    if (v !== undefined && !allowed.includes(v)) throw usage(`${flag}: one of ${allowed.join(', ')}`, flag);
  };
  check(o.kind, FINDING_KINDS, '--kind');
  check(o.severity, SEVERITIES, '--severity');
  check(o.status, [...FINDING_STATUSES, 'all'], '--status');
  return {
    ...(o.target ? { target: o.target } : {}),
    ...(o.kind ? { kind: o.kind as FindingQuery['kind'] } : {}),
    ...(o.severity ? { severity: o.severity as FindingQuery['severity'] } : {}),
    ...(o.status ? { status: o.status as FindingQuery['status'] } : {}),
  };
}

const qs = (x: Record<string, unknown>) => {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(x)) if (v !== undefined && v !== null) p.set(k, String(v));
  const s = p.toString();
  return s ? `?${s}` : '';
};

export function registerReconcileCommands(program: Command): void {
  program
    .command('reconcile')
    .description(
      'Read every account of a target, correlate each to a person and refresh the findings (never changes the target)',
    )
    .argument('<target>')
    .option(
      '--force',
      'merge even when the read is much smaller than the last one (the accounts really are gone)',
    )
    .option(
      '--incremental',
      'read only what changed since the last completed run (the target must report changes)',
    )
    .addOption(jsonOption())
    .action(
      run<{ force?: boolean; incremental?: boolean; json?: boolean }>(async (o, out, cmd) => {
        const mode = o.incremental ? 'incremental' : 'full';
        const target = cmd.args[0]!;
        const cfg = config();
        const r = await call<RunResult>(
          cfg,
          ['POST', `/api/v1/targets/${q(target)}/reconcile`, { mode, force: o.force === true, wait: true }],
          'reconcile',
          (rt) =>
            reconcileTarget(
              { database: rt.database, secrets: rt.secrets, log: rt.log, clock: rt.clock, ids: rt.ids },
              cliContext(rt),
              {
                target,
                mode,
                force: o.force === true,
                onProgress: (n) => {
                  if (!out.json && process.stderr.isTTY) process.stderr.write(`\rread ${n} accounts…`);
                },
              },
            ),
        );
        if (!out.json && process.stderr.isTTY) process.stderr.write('\r\x1b[K');
        if (out.json) out.data(r);
        else printRun(r, out);
        return r.status === 'completed' ? EXIT.ok : EXIT.checkFailed;
      }),
    );

  program
    .command('reconcile-schedule')
    .description(
      'Show, set or remove when targets are reconciled on their own (cron in an IANA time zone, at most every 15 minutes)',
    )
    .argument('[target]', 'without one: every schedule')
    .option('--cron <expression>', 'when, e.g. "0 2 * * *" (every night at 02:00)')
    .option('--zone <iana>', 'the time zone the cron is read in', 'UTC')
    .option('--incremental', 'scheduled runs read only what changed since the last one')
    .option('--off', "remove the target's schedule")
    .addOption(jsonOption())
    .action(
      run<{ cron?: string; zone: string; incremental?: boolean; off?: boolean; json?: boolean }>(
        async (o, out, cmd) => {
          const target = cmd.args[0];
          if (o.cron !== undefined && o.off) throw usage('give --cron or --off, not both', '--off');
          if (!target && (o.cron !== undefined || o.off))
            throw usage('name the target whose schedule to change', 'target');
          const cfg = config();
          const deps = (rt: Runtime) => ({ database: rt.database, jobs: rt.jobs });
          const path = `/api/v1/targets/${q(target ?? '')}/reconcile-schedule`;
          if (target && o.off) {
            await call<unknown>(
              cfg,
              ['DELETE', path],
              'reconcile-schedule',
              (rt) => setReconcileSchedule(deps(rt), cliContext(rt), target, null),
              true,
            );
            if (out.json) out.data({ target, schedule: null });
            else out.line(`${target} is no longer reconciled on a schedule.`);
            return;
          }
          if (target && o.cron !== undefined) {
            const input = {
              cron: o.cron,
              timeZone: o.zone,
              mode: o.incremental ? 'incremental' : 'full',
            } as const;
            const s = await call<ScheduleView | null>(
              cfg,
              ['PUT', path, input],
              'reconcile-schedule',
              (rt) => setReconcileSchedule(deps(rt), cliContext(rt), target, input),
              true,
            );
            if (out.json) out.data(s);
            else printSchedules(s ? [s] : [], out);
            return;
          }
          const { items: all } = await call<{ items: ScheduleView[] }>(
            cfg,
            ['GET', '/api/v1/reconciliation/schedules'],
            'reconcile-schedule',
            async (rt) => ({ items: await listReconcileSchedules(deps(rt)) }),
            true,
          );
          const shown = target ? all.filter((s) => s.target === target) : all;
          if (out.json) out.data(target ? (shown[0] ?? null) : shown);
          else if (shown.length) printSchedules(shown, out);
          else
            out.line(
              target
                ? `${target} is not reconciled on a schedule. Set one with: gatehouse reconcile-schedule ${target} --cron "0 2 * * *" --zone Europe/Berlin`
                : 'No target is reconciled on a schedule.',
            );
        },
      ),
    );

  const findings = program.command('findings').description('What reconciliation found wrong, and fixing it');
  findings
    .command('list')
    .option('--target <name>')
    .option('--kind <kind>', FINDING_KINDS.join(', '))
    .option('--severity <severity>', SEVERITIES.join(', '))
    .option('--status <status>', `${FINDING_STATUSES.join(', ')}, all (default open)`)
    .option('--limit <n>', 'most findings to show', '100')
    .addOption(jsonOption())
    .action(
      run<{
        target?: string;
        kind?: string;
        severity?: string;
        status?: string;
        limit: string;
        json?: boolean;
      }>(async (o, out) => {
        const query = { ...findingQuery(o), limit: Number(o.limit) };
        if (!Number.isInteger(query.limit) || query.limit < 1 || query.limit > 500)
          throw usage('--limit: a whole number from 1 to 500', '--limit');
        const cfg = config();
        const r = await call<{ items: FindingView[]; total: number }>(
          cfg,
          ['GET', `/api/v1/findings${qs(query)}`],
          'findings list',
          (rt) => listFindings(rt.database.pool, query),
        );
        if (out.json) {
          out.data(r);
          return;
        }
        if (!r.items.length)
          return out.line('No findings. Run a reconciliation with: gatehouse reconcile TARGET');
        out.line(
          table(
            r.items.map((f) => ({
              '#': f.seq,
              severity: f.severity,
              kind: f.kind,
              target: f.target,
              summary: f.summary,
            })),
            ['#', 'severity', 'kind', 'target', 'summary'],
          ),
        );
        if (r.total > r.items.length) out.line(`… ${r.total - r.items.length} more (use --limit or filters)`);
      }),
    );

  findings
    .command('remediate')
    .description(
      'Plan one change set that fixes these findings (by number); it waits for someone else to approve',
    )
    .argument('<finding...>')
    .addOption(jsonOption())
    .action(
      run<{ json?: boolean }>(async (_o, out, cmd) => {
        const cfg = config();
        const refs = cmd.args;
        const r = await call<{ changeSet: RecordedChangeSet }>(
          cfg,
          ['POST', '/api/v1/findings/remediate', { ids: await idsOf(cfg, refs) }],
          'findings remediate',
          async (rt) => {
            const ids = await Promise.all(refs.map(async (x) => (await getFinding(rt.database.pool, x)).id));
            return {
              changeSet: await transaction(rt.database, (tx) =>
                remediateFindings(tx, cliContext(rt), { jobs: rt.jobs }, ids),
              ),
            };
          },
          true,
        );
        if (out.json) {
          out.data(r);
          return;
        }
        out.line(
          `Change set #${r.changeSet.seq}: ${r.changeSet.opCount} operation${r.changeSet.opCount === 1 ? '' : 's'}, waiting for approval. Review it with: gatehouse changes show ${r.changeSet.seq}`,
        );
      }),
    );

  findings
    .command('accept')
    .description('Accept the risk of a finding until a date, with a justification (you are its approver)')
    .argument('<finding>')
    .requiredOption('--justification <text>', 'why the risk is acceptable')
    .requiredOption('--until <date>', 'YYYY-MM-DD, at most a year ahead; the finding reopens after it')
    .addOption(jsonOption())
    .action(
      run<{ justification: string; until: string; json?: boolean }>(async (o, out, cmd) => {
        const until = new Date(o.until);
        if (!/^\d{4}-\d{2}-\d{2}/.test(o.until) || Number.isNaN(until.getTime()))
          throw usage('--until: a date as YYYY-MM-DD', '--until');
        const cfg = config();
        const ref = cmd.args[0]!;
        const r = await call<FindingView>(
          cfg,
          ['POST', `/api/v1/findings/${q(ref)}/accept`, { justification: o.justification, until: o.until }],
          'findings accept',
          async (rt) => {
            const f = await getFinding(rt.database.pool, ref);
            await transaction(rt.database, (tx) =>
              acceptFinding(tx, cliContext(rt), f.id, { justification: o.justification, until }),
            );
            return getFinding(rt.database.pool, f.id);
          },
        );
        if (out.json) {
          out.data(r);
          return;
        }
        out.line(`Finding #${r.seq} accepted until ${r.acceptedUntil} by ${r.acceptedBy}.`);
      }),
    );

  findings
    .command('report')
    .description(
      'Write the findings, or who has what, as CSV or XLSX (with the date and the runs they come from)',
    )
    .option('--access', 'who has what instead of the findings')
    .option('--target <name>')
    .option('--department <name>', 'with --access')
    .option('--role <name>', 'with --access: only the accounts of people who hold this role')
    .option('--kind <kind>')
    .option('--severity <severity>')
    .option('--status <status>')
    .requiredOption('-o, --output <file>', 'ends in .csv or .xlsx')
    .action(
      run<{
        access?: boolean;
        target?: string;
        department?: string;
        role?: string;
        kind?: string;
        severity?: string;
        status?: string;
        output: string;
        json?: boolean;
      }>(async (o, out) => {
        const fmt = /\.xlsx$/i.test(o.output) ? 'xlsx' : /\.csv$/i.test(o.output) ? 'csv' : null;
        if (!fmt) throw usage('--output: the file name must end in .csv or .xlsx', '--output');
        const cfg = config();
        if (cfg.remoteUrl)
          throw usage(
            'reports are written from the local installation (unset GATEHOUSE_URL)',
            'GATEHOUSE_URL',
          );
        const report = await withRuntime(cfg, 'findings report', (rt) =>
          o.access
            ? accessReport(
                rt.database.pool,
                {
                  ...(o.target ? { target: o.target } : {}),
                  ...(o.department ? { department: o.department } : {}),
                  ...(o.role ? { role: o.role } : {}),
                },
                rt.clock.now(),
              )
            : findingsReport(rt.database.pool, findingQuery(o), rt.clock.now()),
        );
        await writeFile(o.output, fmt === 'csv' ? toCsv(report) : toXlsx(report));
        out.line(`Wrote ${report.rows.length} rows to ${o.output}.`);
      }),
    );
}

/** Finding numbers (or ids) to ids, over the API. */
async function idsOf(cfg: Config, refs: string[]): Promise<string[]> {
  if (!cfg.remoteUrl) return refs;
  return Promise.all(
    refs.map(async (r) => (await api<FindingView>(cfg, 'GET', `/api/v1/findings/${q(r)}`)).id),
  );
}
