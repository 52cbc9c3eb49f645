import { Command, CommanderError } from 'commander';
import { describeConfig } from '../../src/config/index.ts';
import { migrate, transaction } from '../../src/db/index.ts';
import { verifyChain, listAudit, type VerifyResult, type AuditListItem } from '../../src/audit/index.ts';
import {
  createToken,
  listTokens,
  parseExpiry,
  revokeToken,
  SCOPES,
  type TokenView,
} from '../../src/tokens/index.ts';
import { probeReport, sendProbes, type ProbeReport } from '../../src/system/index.ts';
import { GatehouseError } from '../../src/kit/errors.ts';
import { openRuntime } from '../../src/runtime/index.ts';
import { serve } from '../server/serve.ts';
import { worker } from '../worker/worker.ts';
import { EXIT, reportError, table } from './output.ts';
import { api } from './remote.ts';
import { progress } from './progress.ts';

const program = new Command('gatehouse')
  .description('Gatehouse — identity lifecycle and access governance.')
  .version('0.1.0')
  .showHelpAfterError('(run with --help for usage)')
  .addHelpText(
    'after',
    `
Configuration comes from environment variables (see docs/CONFIGURATION.md; "gatehouse config check" shows it).
Without DATABASE_URL, commands use the embedded PostgreSQL in GATEHOUSE_DATA_DIR (default ./data), whether or not
"gatehouse serve" is running. With GATEHOUSE_URL and GATEHOUSE_TOKEN, token and audit commands go through that
server's API instead.

Exit codes: 0 ok, 1 error, 2 usage or invalid input, 3 check failed (e.g. audit chain broken),
69 database or server unreachable, 77 token refused, 78 invalid configuration.`,
  )
  .exitOverride();

import { cliContext, cliLogger, config, jsonOption, run, state, withRuntime } from './common.ts';
import { registerHrCommands } from './hr.ts';
import { registerTargetCommands } from './targets.ts';
import { registerProvisioningCommands } from './provisioning.ts';
import { registerReconcileCommands } from './reconcile.ts';

// ---------- serve / worker ----------
program
  .command('serve')
  .description(
    'Run the API and the job workers (the default way to run Gatehouse). Starts the embedded PostgreSQL when DATABASE_URL is unset.',
  )
  .option('--no-workers', 'serve the API only; run job workers elsewhere with "gatehouse worker"')
  .action(
    run<{ workers: boolean; json?: boolean }>(async (opts) => {
      const cfg = config();
      return serve(cfg, cliLogger(cfg, true), {
        workers: opts.workers,
        out: (l) => process.stdout.write(l + '\n'),
      });
    }),
  );

program
  .command('worker')
  .description('Run job workers only. Any number of workers may share one database; each job runs once.')
  .action(
    run(async () => {
      const cfg = config();
      return worker(cfg, cliLogger(cfg, true), { out: (l) => process.stdout.write(l + '\n') });
    }),
  );

// ---------- db ----------
const db = program.command('db').description('Database maintenance');
db.command('migrate')
  .description('Apply pending database migrations (also done on every start)')
  .addOption(jsonOption())
  .action(
    run<{ json?: boolean }>(async (_o, out) => {
      const cfg = config();
      const rt = await openRuntime(cfg, {
        command: 'cli db migrate',
        log: cliLogger(cfg, false),
        migrate: false,
        jobs: true,
      });
      try {
        const r = await migrate(rt.database);
        if (out.json) out.data({ applied: r.applied, total: r.total, database: rt.connection.mode });
        else
          out.line(
            r.applied
              ? `Applied ${r.applied} migration(s); the database is at ${r.total}/${r.total}.`
              : `The database is up to date (${r.total} migrations).`,
          );
      } finally {
        await rt.close();
      }
    }),
  );

// ---------- config ----------
program
  .command('config')
  .description('Configuration')
  .command('check')
  .description('Validate the configuration and show it (secrets masked)')
  .addOption(jsonOption())
  .action(
    run<{ json?: boolean }>(async (_o, out) => {
      const items = describeConfig(config());
      if (out.json) out.data({ ok: true, settings: items });
      else out.line(table(items as unknown as Record<string, unknown>[], ['env', 'value', 'source']));
    }),
  );

// ---------- token ----------
const token = program.command('token').description('API tokens');
token
  .command('create')
  .description('Create an API token and print it (shown only once)')
  .requiredOption('--name <name>', 'what the token is for, e.g. "HR sync"')
  .requiredOption('--scopes <list>', `comma-separated scopes: ${Object.keys(SCOPES).join(', ')}`)
  .option('--expires-in <when>', 'duration (30d, 12h) or ISO 8601 date-time; default: never')
  .option(
    '--scim-source <name>',
    'SCIM clients: the HR source people pushed with this token belong to (default "scim")',
  )
  .option(
    '--scim-profile <profile>',
    'SCIM clients: strict (RFC 7644, default) or lenient (Entra and Okta habits)',
  )
  .addOption(jsonOption())
  .action(
    run<{
      name: string;
      scopes: string;
      expiresIn?: string;
      scimSource?: string;
      scimProfile?: string;
      json?: boolean;
    }>(async (o, out) => {
      const cfg = config();
      const scopes = o.scopes
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      const scim =
        o.scimSource || o.scimProfile ? { source: o.scimSource, profile: o.scimProfile } : undefined;
      let result: { token: string; tokenInfo: TokenView };
      if (cfg.remoteUrl) {
        result = await api(cfg, 'POST', '/api/v1/tokens', {
          name: o.name,
          scopes,
          ...(o.expiresIn ? { expiresIn: o.expiresIn } : {}),
          ...(scim ? { scim } : {}),
        });
      } else {
        result = await withRuntime(cfg, 'token create', async (rt) => {
          const expiresAt = o.expiresIn ? parseExpiry(o.expiresIn, rt.clock.now()) : null;
          const r = await transaction(rt.database, (tx) =>
            createToken(tx, cliContext(rt), { name: o.name, scopes, expiresAt, scim }),
          );
          return { token: r.token, tokenInfo: r.view };
        });
      }
      if (out.json)
        out.data({
          token: result.token,
          id: result.tokenInfo.id,
          name: result.tokenInfo.name,
          scopes: result.tokenInfo.scopes,
          expiresAt: result.tokenInfo.expiresAt,
          scim: result.tokenInfo.scim,
        });
      else {
        out.line(
          `Created token "${result.tokenInfo.name}" (${result.tokenInfo.id}) with scopes ${result.tokenInfo.scopes.join(', ')}${result.tokenInfo.expiresAt ? `, expiring ${result.tokenInfo.expiresAt}` : ''}.`,
        );
        out.line('Store it now; it is not shown again:');
        out.line('');
        out.line(`  ${result.token}`);
      }
    }),
  );
token
  .command('list')
  .description('List API tokens (never their secrets)')
  .option('--all', 'include revoked tokens')
  .addOption(jsonOption())
  .action(
    run<{ all?: boolean; json?: boolean }>(async (o, out) => {
      const cfg = config();
      const items = cfg.remoteUrl
        ? (
            await api<{ items: TokenView[] }>(
              cfg,
              'GET',
              `/api/v1/tokens?includeRevoked=${o.all ? 'true' : 'false'}`,
            )
          ).items
        : await withRuntime(cfg, 'token list', (rt) =>
            listTokens(rt.database, rt.clock.now(), { includeRevoked: o.all === true, pageSize: 500 }).then(
              (r) => r.items,
            ),
          );
      if (out.json) out.data({ items });
      else if (items.length === 0)
        out.line('No API tokens. Create one with: gatehouse token create --name NAME --scopes SCOPES');
      else
        out.line(
          table(
            items.map((t) => ({ ...t, scopes: t.scopes.join(',') })) as unknown as Record<string, unknown>[],
            ['id', 'name', 'hint', 'scopes', 'status', 'expiresAt', 'lastUsedAt'],
          ),
        );
    }),
  );
token
  .command('revoke')
  .description('Revoke an API token immediately')
  .argument('<id>', 'token id (see "gatehouse token list")')
  .option('--reason <text>', 'why (kept in the audit trail)')
  .addOption(jsonOption())
  .action(
    run<{ reason?: string; json?: boolean }>(async (o, out, cmd) => {
      const id = cmd.args[0]!;
      const cfg = config();
      const v = cfg.remoteUrl
        ? await api<TokenView>(
            cfg,
            'POST',
            `/api/v1/tokens/${encodeURIComponent(id)}/revoke`,
            o.reason ? { reason: o.reason } : {},
          )
        : await withRuntime(cfg, 'token revoke', (rt) =>
            transaction(rt.database, (tx) => revokeToken(tx, cliContext(rt), id, o.reason)),
          );
      if (out.json) out.data(v);
      else out.line(`Revoked token "${v.name}" (${v.id}).`);
    }),
  );

// ---------- audit ----------
const audit = program.command('audit').description('The audit trail');
audit
  .command('verify')
  .description('Recompute the hash chain; name the first broken event. Exit 3 if the chain is broken.')
  .addOption(jsonOption())
  .action(
    run<{ json?: boolean }>(async (o, out) => {
      const cfg = config();
      let r: VerifyResult;
      if (cfg.remoteUrl) r = await api<VerifyResult>(cfg, 'POST', '/api/v1/audit/verify');
      else {
        const bar = progress('verifying audit chain', o.json !== true);
        r = await withRuntime(cfg, 'audit verify', (rt) =>
          verifyChain(rt.database, { onProgress: bar.update }),
        );
        bar.done();
      }
      if (out.json) out.data(r);
      else if (r.ok)
        out.line(
          `The audit chain is intact: ${r.checked} event(s) verified${r.head ? `; head #${r.head.seq} ${r.head.hash}` : ''}.`,
        );
      else {
        const b = r.firstBroken!;
        out.line(
          `The audit chain is BROKEN at event #${b.seq} (${b.action}, ${b.occurredAt}, id ${b.id}): ${b.message}.`,
        );
        out.line(`${r.checked} event(s) before it verified.`);
      }
      return r.ok ? EXIT.ok : EXIT.checkFailed;
    }),
  );
audit
  .command('list')
  .description('Show audit events, newest first')
  .option('--actor <actor>', 'type:id or id')
  .option('--action <action>', 'exact action or prefix* (e.g. token.*)')
  .option('--subject <type:id>', 'subject type, or type:id')
  .option('--from <iso>', 'from this date-time')
  .option('--to <iso>', 'up to this date-time')
  .option('--limit <n>', 'how many (max 500)', '50')
  .addOption(jsonOption())
  .action(
    run<{
      actor?: string;
      action?: string;
      subject?: string;
      from?: string;
      to?: string;
      limit: string;
      json?: boolean;
    }>(async (o, out) => {
      // Validate at the edge, naming the flag: the same rules as the API's query schema.
      const limit = Number(o.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 500)
        throw usage(`--limit must be a whole number from 1 to 500 (got "${o.limit}")`);
      for (const [flag, v] of [
        ['--from', o.from],
        ['--to', o.to],
      ] as const) {
        if (v !== undefined && (!ISO_DATE_TIME.test(v) || Number.isNaN(new Date(v).getTime()))) {
          throw usage(
            `${flag} must be an ISO 8601 date-time with an offset, like 2026-11-01T00:00:00Z (got "${v}")`,
          );
        }
      }
      const cfg = config();
      const [subjectType, subjectId] = o.subject
        ? [o.subject.split(':')[0], o.subject.split(':').slice(1).join(':') || undefined]
        : [];
      const q = {
        actor: o.actor,
        action: o.action,
        subjectType,
        subjectId,
        from: o.from,
        to: o.to,
        limit: o.limit,
      };
      let items: AuditListItem[];
      if (cfg.remoteUrl) {
        const qs = new URLSearchParams(
          Object.entries(q).filter(([, v]) => v !== undefined) as [string, string][],
        );
        items = (await api<{ items: AuditListItem[] }>(cfg, 'GET', `/api/v1/audit/events?${qs.toString()}`))
          .items;
      } else {
        items = (
          await withRuntime(cfg, 'audit list', (rt) =>
            listAudit(rt.database, {
              ...q,
              limit,
              from: q.from ? new Date(q.from) : undefined,
              to: q.to ? new Date(q.to) : undefined,
            }),
          )
        ).items;
      }
      if (out.json) out.data({ items });
      else if (items.length === 0) out.line('No audit events match.');
      else
        out.line(
          table(
            items.map((e) => ({
              seq: e.seq,
              time: e.occurredAt,
              actor: `${e.actor.type}:${e.actor.name ?? e.actor.id}`,
              action: e.action,
              subject: `${e.subject.type}:${e.subject.id}`,
            })),
            ['seq', 'time', 'actor', 'action', 'subject'],
          ),
        );
    }),
  );

// ---------- jobs ----------
const jobs = program.command('jobs').description('The job queue');
jobs
  .command('probe')
  .description(
    'Send probe jobs through the queue and wait until workers have run them (needs "serve" or "worker" running)',
  )
  .option('--count <n>', 'how many probe jobs', '10')
  .option('--timeout <seconds>', 'how long to wait', '60')
  .addOption(jsonOption())
  .action(
    run<{ count: string; timeout: string; json?: boolean }>(async (o, out) => {
      const count = Number(o.count);
      const timeoutS = Number(o.timeout);
      if (!Number.isInteger(count) || count < 1 || count > 100_000)
        throw usage('--count must be a whole number from 1 to 100000');
      if (!Number.isFinite(timeoutS) || timeoutS <= 0)
        throw usage('--timeout must be a positive number of seconds');
      const cfg = config();
      const deadline = Date.now() + timeoutS * 1000;
      const bar = progress('waiting for probe jobs', o.json !== true);
      let report: ProbeReport;
      if (cfg.remoteUrl) {
        const { batch } = await api<{ batch: string }>(cfg, 'POST', '/api/v1/jobs/probe', { count });
        do {
          await sleep(250);
          report = await api<ProbeReport>(cfg, 'GET', `/api/v1/jobs/probe/${batch}?expected=${count}`);
          bar.update(report.done, count);
        } while (report.done < count && Date.now() < deadline);
      } else {
        report = await withRuntime(
          cfg,
          'jobs probe',
          async (rt) => {
            const batch = await sendProbes(rt.jobs, rt.clock, count);
            let r: ProbeReport;
            do {
              await sleep(250);
              r = await probeReport(rt.database, batch, count);
              bar.update(r.done, count);
            } while (r.done < count && Date.now() < deadline);
            return r;
          },
          { jobs: true },
        );
      }
      bar.done();
      if (out.json) out.data(report);
      else {
        out.line(
          `${report.done}/${count} probe job(s) done by ${Object.keys(report.byWorker).length} worker(s)${report.latencyMs ? `; latency p50 ${report.latencyMs.p50} ms, p95 ${report.latencyMs.p95} ms` : ''}.`,
        );
        if (report.done < count)
          out.line(
            'Not all probe jobs ran in time: is "gatehouse serve" or "gatehouse worker" running against this database?',
          );
      }
      return report.done === count && report.distinctJobs === count ? EXIT.ok : EXIT.checkFailed;
    }),
  );

const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;

function usage(message: string): Error {
  return new GatehouseError('usage_invalid', message, { status: 400 });
}

function sleep(ms: number) {
  return new Promise((r) => setTimeout(r, ms));
}

registerHrCommands(program);
registerTargetCommands(program);
registerProvisioningCommands(program);
registerReconcileCommands(program);

// ---------- main ----------
try {
  if (process.argv.length <= 2) {
    program.outputHelp();
  } else {
    await program.parseAsync(process.argv);
  }
} catch (e) {
  if (e instanceof CommanderError) {
    if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help')
      state.exitCode = EXIT.ok;
    else state.exitCode = EXIT.usage;
  } else {
    state.exitCode = reportError(e, process.argv.includes('--json'));
  }
}
process.exitCode = state.exitCode;
// Long-running commands resolved already; do not let a stray handle keep a one-shot command alive.
setTimeout(() => process.exit(state.exitCode), 200).unref();
