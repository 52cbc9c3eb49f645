import { readFile, writeFile } from 'node:fs/promises';
import { basename } from 'node:path';
import type { Command } from 'commander';
import { transaction } from '../../src/db/index.ts';
import { GatehouseError } from '../../src/kit/errors.ts';
import {
  declareEntitlement,
  discoverEntitlements,
  listEntitlements,
  updateEntitlement,
  type DiscoveryResult,
  type EntitlementView,
} from '../../src/policy/index.ts';
import {
  CHANGE_SET_STATUSES,
  approveChangeSet,
  getChangeSet,
  latencyStats,
  listChangeSets,
  personAccess,
  recompute,
  rejectChangeSet,
  retryChangeSet,
  undoChangeSet,
  type ChangeSetStatus,
  type ChangeSetView,
  type LatencyStats,
  type OpView,
  type PersonAccess,
  type RecordedChangeSet,
} from '../../src/provisioning/index.ts';
import { applyPolicy, exportPolicy, type ApplyPolicyResult } from '../../src/provisioning/policy-apply.ts';
import { openConnector } from '../../src/targets/index.ts';
import { findPersonId } from '../../src/identities/index.ts';
import { call, cliContext, config, jsonOption, run, withRuntime } from './common.ts';
import { table, type Out } from './output.ts';
import { api } from './remote.ts';

const q = encodeURIComponent;

function printImpact(r: ApplyPolicyResult, out: Out): void {
  const i = r.impact;
  out.line(
    `${i.affected} of ${i.people} people affected: ${i.gainCount} gain${i.gainCount === 1 ? '' : 's'}, ${i.lossCount} loss${i.lossCount === 1 ? '' : 'es'}, ${i.operations} operation${i.operations === 1 ? '' : 's'}`,
  );
  if (i.byItem.length)
    out.line(
      table(
        i.byItem
          .slice(0, 30)
          .map((b) => ({ target: b.target, item: b.item, gain: `+${b.gain}`, lose: `-${b.lose}` })),
        ['target', 'item', 'gain', 'lose'],
      ),
    );
  for (const g of i.gains.slice(0, 20))
    out.line(`  + ${g.person}: ${g.target} ${g.item}${g.because ? ` (${g.because})` : ''}`);
  for (const l of i.losses.slice(0, 20)) out.line(`  - ${l.person}: ${l.target} ${l.item}`);
  if (i.gains.length + i.losses.length > 40 || i.truncated) out.line('  … (use --json for every line)');
  if (r.namingChanged) out.line('The naming standards change too.');
}

function printChangeSet(s: ChangeSetView & { ops?: OpView[] }, out: Out): void {
  out.line(`#${s.seq} ${s.title}`);
  out.line(
    `  ${s.status.replace(/_/g, ' ')} · ${s.peopleCount} people · ${s.opCount} operations · ${s.trigger} · created ${s.createdAt} by ${s.createdBy}`,
  );
  const c = s.counts;
  out.line(`  done ${c.done} · failed ${c.failed} · not attempted ${c.skipped} · pending ${c.pending}`);
  for (const a of s.approvalReasons) out.line(`  waits for approval: ${a.message}`);
  for (const b of s.blocked)
    out.line(
      `  blocked by SoD rule "${b.rule}" (${b.reason}): ${b.items.map((i) => `${i.key} on ${i.targetName}`).join(', ')}`,
    );
  for (const w of s.warnings)
    out.line(
      `  warning: ${w.target ? `${w.target} ` : ''}${w.attribute ? `${w.attribute}: ` : ''}${w.message}`,
    );
  if (s.decidedBy)
    out.line(`  decided by ${s.decidedBy} at ${s.decidedAt}${s.decisionNote ? `: ${s.decisionNote}` : ''}`);
  if (s.undoOf) out.line(`  undoes ${s.undoOf}`);
  if (s.undoneBy) out.line(`  undone by ${s.undoneBy}`);
  if (!s.ops) return;
  let who = '';
  for (const o of s.ops) {
    const person = o.personName ?? o.personId ?? '';
    if (person !== who) {
      who = person;
      out.line(`  ${person}`);
    }
    const changes =
      o.payload.kind === 'update_account'
        ? ` (${o.payload.changes.map((ch) => `${ch.attribute}: ${JSON.stringify(ch.from)} → ${JSON.stringify(ch.to)}`).join('; ')})`
        : '';
    out.line(
      `    ${String(o.seq).padStart(4)} ${o.status.padEnd(7)} ${o.target}: ${o.summary}${changes}${o.noop ? ' (already so)' : ''}${o.error ? ` — ${o.error.message}` : ''}`,
    );
    if (o.irreversibleReason) out.line(`         cannot be undone fully: ${o.irreversibleReason}`);
  }
}

function recordedLine(r: RecordedChangeSet | null, out: Out, nothing = 'Nothing to change.'): void {
  if (!r) out.line(nothing);
  else
    out.line(
      `Change set #${r.seq}: ${r.opCount} operation${r.opCount === 1 ? '' : 's'}, ${r.status.replace(/_/g, ' ')}.${r.status === 'awaiting_approval' ? ` Approve with: gatehouse changes approve ${r.seq}` : ''} Show it with: gatehouse changes show ${r.seq}`,
    );
}

export function registerProvisioningCommands(program: Command): void {
  const policy = program
    .command('policy')
    .description('The access policy as code: roles, rules, mappings, SoD, naming');

  policy
    .command('export')
    .description('Write the policy in force (with the naming standards) as YAML')
    .option('-o, --output <file>', 'write to this file instead of stdout')
    .addOption(jsonOption())
    .action(
      run<{ output?: string; json?: boolean }>(async (o, out) => {
        const cfg = config();
        const r = await call(cfg, ['GET', '/api/v1/policy'], 'policy export', async (rt) => {
          const client = await rt.database.pool.connect();
          try {
            return await exportPolicy({ client, db: rt.database.db });
          } finally {
            client.release();
          }
        });
        if (o.output) {
          await writeFile(o.output, r.yaml);
          if (out.json) out.data({ version: r.version, file: o.output });
          else out.line(`Wrote policy version ${r.version} to ${o.output}.`);
        } else if (out.json) out.data({ version: r.version, document: r.document });
        else process.stdout.write(r.yaml);
      }),
    );

  policy
    .command('apply')
    .description('Check a policy file and apply it; with --dry-run only show who would gain and lose what')
    .requiredOption('-f, --file <file>', 'the policy YAML')
    .option('--dry-run', 'check and show the impact; change nothing')
    .option('--comment <text>', 'why (kept with the version and in the audit trail)')
    .option('--hold', 'keep the resulting change set for a person to approve')
    .addOption(jsonOption())
    .action(
      run<{ file: string; dryRun?: boolean; comment?: string; hold?: boolean; json?: boolean }>(
        async (o, out) => {
          const text = await readFile(o.file, 'utf8').catch((e: NodeJS.ErrnoException) => {
            throw new GatehouseError(
              'usage_invalid',
              e.code === 'ENOENT'
                ? `--file: no such file: ${o.file}`
                : `--file: cannot read ${o.file}: ${e.message}`,
              {
                status: 400,
                problems: [{ field: '--file', message: e.message }],
              },
            );
          });
          const file = basename(o.file);
          const body = {
            yaml: text,
            file,
            dryRun: o.dryRun === true,
            ...(o.comment ? { comment: o.comment } : {}),
            ...(o.hold ? { hold: true } : {}),
          };
          const cfg = config();
          const r = await call<ApplyPolicyResult>(
            cfg,
            ['POST', '/api/v1/policy', body],
            'policy apply',
            (rt) =>
              transaction(rt.database, (tx) =>
                applyPolicy(
                  tx,
                  cliContext(rt),
                  { jobs: rt.jobs },
                  { yaml: text, file },
                  {
                    dryRun: o.dryRun === true,
                    ...(o.comment ? { comment: o.comment } : {}),
                    ...(o.hold ? { hold: true } : {}),
                  },
                ),
              ),
            true,
          );
          if (out.json) {
            out.data(r);
            return;
          }
          out.line(
            r.dryRun
              ? `${o.file} is valid. Dry run — nothing was changed.`
              : `Applied ${o.file} as policy version ${r.version}.`,
          );
          printImpact(r, out);
          if (!r.dryRun) recordedLine(r.changeSet, out, 'No account needs to change.');
        },
      ),
    );

  const ents = program
    .command('entitlements')
    .description('The entitlement catalog: groups, roles and licences per target');
  ents
    .command('list')
    .option('--target <name>', 'only this target')
    .addOption(jsonOption())
    .action(
      run<{ target?: string; json?: boolean }>(async (o, out) => {
        const cfg = config();
        const { items } = await call<{ items: EntitlementView[] }>(
          cfg,
          ['GET', `/api/v1/entitlements${o.target ? `?target=${q(o.target)}` : ''}`],
          'entitlements list',
          async (rt) => ({ items: await listEntitlements(rt.database.pool, o.target) }),
        );
        if (out.json) {
          out.data({ items });
          return;
        }
        if (!items.length)
          return out.line(
            'The catalog is empty. Read a target’s groups with: gatehouse entitlements discover TARGET',
          );
        out.line(
          table(
            items.map((e) => ({
              ...e,
              privileged: e.privileged ? 'yes' : '',
              monthlyCost: e.monthlyCost ?? '',
              owner: e.owner ?? '',
              missing: e.missingSince ? 'missing' : '',
            })),
            ['target', 'key', 'kind', 'privileged', 'owner', 'monthlyCost', 'origin', 'missing'],
          ),
        );
      }),
    );
  ents
    .command('discover')
    .description("Read a target's groups into the catalog")
    .argument('<target>')
    .addOption(jsonOption())
    .action(
      run<{ json?: boolean }>(async (_o, out, cmd) => {
        const target = cmd.args[0]!;
        const cfg = config();
        const r = await call<DiscoveryResult>(
          cfg,
          ['POST', `/api/v1/targets/${q(target)}/entitlements/discover`],
          'entitlements discover',
          async (rt) => {
            const c = await openConnector(
              { database: rt.database, secrets: rt.secrets, log: rt.log, clock: rt.clock, ids: rt.ids },
              target,
            );
            try {
              return await transaction(rt.database, (tx) =>
                discoverEntitlements(tx, cliContext(rt), target, c),
              );
            } finally {
              await c.close().catch(() => undefined);
            }
          },
        );
        if (out.json) out.data(r);
        else
          out.line(
            `${target}: ${r.total} groups read; ${r.added} added, ${r.updated} updated, ${r.missing} no longer found.`,
          );
      }),
    );
  ents
    .command('set')
    .description('Mark an entitlement privileged, give it an owner or a monthly cost')
    .argument('<target>')
    .argument('<key>')
    .option('--privileged', 'grants need approval')
    .option('--not-privileged')
    .option('--owner <who>', 'who answers for it ("" to clear)')
    .option('--monthly-cost <amount>', 'cost per holder and month ("" to clear)')
    .addOption(jsonOption())
    .action(
      run<{
        privileged?: boolean;
        notPrivileged?: boolean;
        owner?: string;
        monthlyCost?: string;
        json?: boolean;
      }>(async (o, out, cmd) => {
        const [target, key] = cmd.args as [string, string];
        const cost =
          o.monthlyCost === undefined ? undefined : o.monthlyCost === '' ? null : Number(o.monthlyCost);
        if (cost !== undefined && cost !== null && !Number.isFinite(cost))
          throw new GatehouseError('usage_invalid', `--monthly-cost: "${o.monthlyCost}" is not a number`, {
            status: 400,
            problems: [{ field: '--monthly-cost', message: 'not a number' }],
          });
        const patch = {
          ...(o.privileged ? { privileged: true } : o.notPrivileged ? { privileged: false } : {}),
          ...(o.owner !== undefined ? { owner: o.owner || null } : {}),
          ...(cost !== undefined ? { monthlyCost: cost } : {}),
        };
        const cfg = config();
        const e = await call<EntitlementView>(
          cfg,
          ['PATCH', `/api/v1/targets/${q(target)}/entitlements/${q(key)}`, patch],
          'entitlements set',
          (rt) => transaction(rt.database, (tx) => updateEntitlement(tx, cliContext(rt), target, key, patch)),
        );
        if (out.json) out.data(e);
        else
          out.line(
            `${e.target} ${e.key}: ${e.privileged ? 'privileged' : 'not privileged'}, owner ${e.owner ?? '-'}, monthly cost ${e.monthlyCost ?? '-'}`,
          );
      }),
    );
  ents
    .command('declare')
    .description('Declare an entitlement the target cannot list (a licence, an application role)')
    .argument('<target>')
    .argument('<key>')
    .requiredOption('--object-id <id>', "the target's identifier for it")
    .option('--kind <kind>', 'group, role, licence, …', 'licence')
    .option('--name <display>', 'name people see')
    .option('--privileged')
    .addOption(jsonOption())
    .action(
      run<{ objectId: string; kind: string; name?: string; privileged?: boolean; json?: boolean }>(
        async (o, out, cmd) => {
          const [target, key] = cmd.args as [string, string];
          const input = {
            key,
            kind: o.kind,
            objectId: o.objectId,
            ...(o.name ? { displayName: o.name } : {}),
            ...(o.privileged ? { privileged: true } : {}),
          };
          const cfg = config();
          const e = await call<EntitlementView>(
            cfg,
            ['POST', `/api/v1/targets/${q(target)}/entitlements`, input],
            'entitlements declare',
            (rt) => transaction(rt.database, (tx) => declareEntitlement(tx, cliContext(rt), target, input)),
          );
          if (out.json) out.data(e);
          else out.line(`Declared ${e.kind} "${e.key}" on ${e.target}.`);
        },
      ),
    );

  const changes = program.command('changes').description('Change sets: preview, approve, apply, retry, undo');
  changes
    .command('list')
    .option('--status <status>', CHANGE_SET_STATUSES.join(', '))
    .option('--limit <n>', 'how many', '30')
    .addOption(jsonOption())
    .action(
      run<{ status?: ChangeSetStatus; limit: string; json?: boolean }>(async (o, out) => {
        const cfg = config();
        const limit = Number(o.limit) || 30;
        const r = await call<{ items: ChangeSetView[] }>(
          cfg,
          ['GET', `/api/v1/change-sets?limit=${limit}${o.status ? `&status=${q(o.status)}` : ''}`],
          'changes list',
          (rt) => listChangeSets(rt.database.pool, { limit, ...(o.status ? { status: o.status } : {}) }),
        );
        if (out.json) {
          out.data({ items: r.items });
          return;
        }
        if (!r.items.length)
          return out.line(
            'No change sets yet. They appear when HR events, policy changes or recomputes change accounts.',
          );
        out.line(
          table(
            r.items.map((s) => ({
              '#': s.seq,
              status: s.status.replace(/_/g, ' '),
              title: s.title,
              people: s.peopleCount,
              ops: s.opCount,
              failed: s.counts.failed,
              created: s.createdAt,
            })),
            ['#', 'status', 'title', 'people', 'ops', 'failed', 'created'],
          ),
        );
      }),
    );
  changes
    .command('show')
    .argument('<id>', 'change set number or id')
    .addOption(jsonOption())
    .action(
      run<{ json?: boolean }>(async (_o, out, cmd) => {
        const id = cmd.args[0]!;
        const cfg = config();
        const s = await call(cfg, ['GET', `/api/v1/change-sets/${q(id)}`], 'changes show', (rt) =>
          getChangeSet(rt.database.pool, id),
        );
        if (out.json) out.data(s);
        else printChangeSet(s as ChangeSetView & { ops: OpView[] }, out);
      }),
    );
  for (const action of ['approve', 'reject', 'retry', 'undo'] as const)
    changes
      .command(action)
      .argument('<id>', 'change set number or id')
      .option('--note <text>', action === 'reject' ? 'why (required)' : 'a note for the record')
      .addOption(jsonOption())
      .action(
        run<{ note?: string; json?: boolean }>(async (o, out, cmd) => {
          const id = cmd.args[0]!;
          const cfg = config();
          const note = o.note ?? '';
          const remoteBody =
            action === 'approve' || action === 'reject' ? { note } : action === 'undo' ? {} : undefined;
          const r = await call<unknown>(
            cfg,
            ['POST', `/api/v1/change-sets/${q(id)}/${action}`, remoteBody],
            `changes ${action}`,
            (rt) =>
              transaction(rt.database, async (tx) => {
                const ctx = cliContext(rt);
                const jobs = { jobs: rt.jobs };
                if (action === 'approve') return approveChangeSet(tx, ctx, jobs, id, note);
                if (action === 'reject') return rejectChangeSet(tx, ctx, id, note);
                if (action === 'retry') return retryChangeSet(tx, ctx, jobs, id);
                return { changeSet: await undoChangeSet(tx, ctx, jobs, id) };
              }),
            true,
          );
          if (out.json) {
            out.data(r);
            return;
          }
          if (action === 'undo') recordedLine((r as { changeSet: RecordedChangeSet }).changeSet, out);
          else {
            const s = r as ChangeSetView;
            out.line(`Change set #${s.seq} is now ${s.status.replace(/_/g, ' ')}.`);
          }
        }),
      );
  changes
    .command('latency')
    .description('HR event to committed on the target: p50/p95 per target')
    .option('--hours <n>', 'over the last N hours', '24')
    .addOption(jsonOption())
    .action(
      run<{ hours: string; json?: boolean }>(async (o, out) => {
        const hours = Number(o.hours) || 24;
        const cfg = config();
        const { items } = await call<{ items: LatencyStats[] }>(
          cfg,
          ['GET', `/api/v1/provisioning/latency?hours=${hours}`],
          'changes latency',
          async (rt) => ({
            items: await latencyStats(
              rt.database.pool,
              new Date(rt.clock.now().getTime() - hours * 3_600_000),
            ),
          }),
        );
        if (out.json) {
          out.data({ items });
          return;
        }
        if (!items.length) return void out.line(`No HR-triggered operations in the last ${hours} hours.`);
        out.line(
          table(
            items.map((i) => ({
              target: i.target ?? '(all)',
              operations: i.operations,
              p50: `${i.p50Ms} ms`,
              p95: `${i.p95Ms} ms`,
              max: `${i.maxMs} ms`,
            })),
            ['target', 'operations', 'p50', 'p95', 'max'],
          ),
        );
      }),
    );

  program
    .command('access')
    .description('What a person has everywhere and should have, and why; --recompute brings it in line now')
    .argument('<person>', 'person id, employee id or username')
    .option('--recompute', 'plan and apply the difference now (a change set)')
    .addOption(jsonOption())
    .action(
      run<{ recompute?: boolean; json?: boolean }>(async (o, out, cmd) => {
        const who = cmd.args[0]!;
        const cfg = config();
        if (cfg.remoteUrl && !/^[0-9a-f-]{36}$/i.test(who))
          throw new GatehouseError('usage_invalid', 'with GATEHOUSE_URL, give the person id', {
            status: 400,
            problems: [{ field: 'person', message: 'a person id is needed remotely' }],
          });
        let r: { access: PersonAccess; changeSet?: RecordedChangeSet | null };
        if (cfg.remoteUrl) {
          const changeSet = o.recompute
            ? (
                await api<{ changeSet: RecordedChangeSet | null }>(cfg, 'POST', '/api/v1/change-sets', {
                  personIds: [who],
                })
              ).changeSet
            : undefined;
          const access = await api<PersonAccess>(cfg, 'GET', `/api/v1/people/${q(who)}/access`);
          r = { access, ...(o.recompute ? { changeSet } : {}) };
        } else
          r = await withRuntime(
            cfg,
            'access',
            async (rt) => {
              const id = await findPersonId(rt.database.pool, who);
              const changeSet = o.recompute
                ? await transaction(rt.database, (tx) =>
                    recompute(tx, cliContext(rt), { jobs: rt.jobs }, [id]),
                  )
                : undefined;
              return {
                access: await personAccess(rt.database.pool, id, rt.clock.now()),
                ...(o.recompute ? { changeSet } : {}),
              };
            },
            { jobs: o.recompute === true },
          );
        if (out.json) {
          out.data(r);
          return;
        }
        const a = r.access;
        out.line(
          `Roles: ${a.roles.map((x) => `${x.role} (${x.because.map((b) => (b.kind === 'rule' ? `rule "${b.rule}"` : `assignment${b.validUntil ? ` until ${b.validUntil}` : ''}`)).join(', ')})`).join('; ') || 'none'}`,
        );
        for (const t of a.targets) {
          out.line(
            `${t.target}: ${t.account ? `${t.account.name} — ${t.account.state}${t.account.enabled ? '' : ', disabled'}` : 'no account'}${t.desired === 'absent' ? ' (should not have one)' : ''}`,
          );
          for (const e of t.entitlements)
            out.line(
              `  ${e.held ? (e.desired ? '✓' : '✗ extra') : '+ missing'} ${e.displayName}${e.privileged ? ' [privileged]' : ''}${e.because.length ? ` ← ${e.because.map((b) => (b.kind === 'rule' ? `rule "${b.rule}" → ${b.role}` : `assignment → ${b.role}`)).join('; ')}` : ''}`,
            );
        }
        for (const s of a.sod)
          out.line(`SoD "${s.rule}": ${s.reason}${s.existing ? ' (holds both sides now)' : ''}`);
        if (a.pending.length)
          out.line(
            `${a.pending.length} change${a.pending.length === 1 ? '' : 's'} pending: ${a.pending.map((p) => `${p.targetName}: ${p.summary}`).join('; ')}`,
          );
        if (o.recompute) recordedLine(r.changeSet ?? null, out);
      }),
    );
}
