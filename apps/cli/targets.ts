import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { CONNECTORS } from '../../src/connectors/index.ts';
import { ConnectorErrors } from '../../src/connectors/kit/errors.ts';
import { transaction } from '../../src/db/index.ts';
import { GatehouseError, isGatehouseError } from '../../src/kit/errors.ts';
import type { Runtime } from '../../src/runtime/index.ts';
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
  type TargetView,
  type TaskStatus,
  type TaskView,
} from '../../src/targets/index.ts';
import { cliContext, config, jsonOption, run, withRuntime } from './common.ts';
import { EXIT, table, type Out } from './output.ts';
import { api } from './remote.ts';

function usage(message: string, field: string): GatehouseError {
  return new GatehouseError('usage_invalid', message, { status: 400, problems: [{ field, message }] });
}

const openDeps = (rt: Runtime): OpenDeps => ({
  database: rt.database,
  secrets: rt.secrets,
  log: rt.log,
  clock: rt.clock,
  ids: rt.ids,
});

const path = (name: string) => `/api/v1/targets/${encodeURIComponent(name)}`;

/** `--config` is inline JSON (starting with "{") or the path of a JSON file. */
async function readConfig(value: string | undefined): Promise<Record<string, unknown> | undefined> {
  if (value === undefined) return undefined;
  const inline = value.trimStart().startsWith('{');
  let text = value;
  if (!inline) {
    text = await readFile(value, 'utf8').catch((e: NodeJS.ErrnoException) => {
      throw usage(
        e.code === 'ENOENT'
          ? `--config: no such file: ${value}`
          : `--config: cannot read ${value}: ${e.message}`,
        '--config',
      );
    });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw usage(
      `--config: ${inline ? 'the value' : value} is not valid JSON (${(e as Error).message})`,
      '--config',
    );
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw usage('--config must be a JSON object, e.g. {"url": "ldaps://dc.example.com"}', '--config');
  return parsed as Record<string, unknown>;
}

/** A credential's value: JSON when it is an object (e.g. {"type":"bearer","token":"…"}), else the text itself. */
function secretValue(v: string): unknown {
  if (v.trimStart().startsWith('{')) {
    try {
      return JSON.parse(v) as unknown;
    } catch {
      return v;
    }
  }
  return v;
}

/** "KEY=VALUE" lines (blank lines and # comments ignored) or one JSON object. */
function parseSecretsDocument(text: string, where: string): Record<string, unknown> {
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) {
    try {
      const o = JSON.parse(trimmed) as unknown;
      if (typeof o === 'object' && o !== null && !Array.isArray(o)) return o as Record<string, unknown>;
    } catch (e) {
      throw usage(`${where} is not valid JSON (${(e as Error).message})`, '--secrets-file');
    }
    throw usage(`${where} must hold a JSON object or KEY=VALUE lines`, '--secrets-file');
  }
  const out: Record<string, unknown> = {};
  text.split(/\r?\n/).forEach((line, i) => {
    if (!line.trim() || line.trimStart().startsWith('#')) return;
    const eq = line.indexOf('=');
    if (eq <= 0) throw usage(`${where}, line ${i + 1}: expected KEY=VALUE`, '--secrets-file');
    out[line.slice(0, eq).trim()] = secretValue(line.slice(eq + 1));
  });
  return out;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Ask on the terminal without echoing what is typed. */
function promptHidden(question: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const stdin = process.stdin;
    process.stderr.write(question);
    stdin.setRawMode(true);
    stdin.resume();
    let value = '';
    const done = (err?: Error) => {
      stdin.setRawMode(false);
      stdin.pause();
      stdin.off('data', onData);
      process.stderr.write('\n');
      if (err) reject(err);
      else resolve(value);
    };
    const onData = (d: Buffer) => {
      for (const ch of d.toString('utf8')) {
        if (ch === '\r' || ch === '\n') return done();
        if (ch === '\u0003') return done(usage('cancelled', '--secret'));
        if (ch === '\u007f' || ch === '\b') value = value.slice(0, -1);
        else value += ch;
      }
    };
    stdin.on('data', onData);
  });
}

/**
 * Credentials from the options: `--secrets-file FILE` (or "-" for stdin), `--secret KEY` (the value is read from
 * stdin, one line per key, or asked for without echo on a terminal) and `--secret KEY=VALUE` (works, but the value
 * shows in the process list and the shell history, so it warns).
 */
async function readSecrets(o: { secret?: string[]; secretsFile?: string }): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  const fromStdin: string[] = [];
  if (o.secretsFile !== undefined) {
    const where = o.secretsFile === '-' ? 'stdin' : o.secretsFile;
    const text =
      o.secretsFile === '-'
        ? await readStdin()
        : await readFile(o.secretsFile, 'utf8').catch((e: NodeJS.ErrnoException) => {
            throw usage(
              e.code === 'ENOENT' ? `--secrets-file: no such file: ${where}` : `--secrets-file: ${e.message}`,
              '--secrets-file',
            );
          });
    Object.assign(out, parseSecretsDocument(text, where));
  }
  for (const s of o.secret ?? []) {
    const eq = s.indexOf('=');
    if (eq === 0) throw usage(`--secret ${s}: the name comes first (KEY or KEY=VALUE)`, '--secret');
    if (eq > 0) {
      process.stderr.write(
        `gatehouse: warning: --secret ${s.slice(0, eq)}=… puts the value in the process list and your shell history; prefer --secret ${s.slice(0, eq)} (reads stdin) or --secrets-file\n`,
      );
      out[s.slice(0, eq)] = secretValue(s.slice(eq + 1));
    } else fromStdin.push(s);
  }
  if (fromStdin.length) {
    if (o.secretsFile === '-')
      throw usage('use either --secrets-file - or --secret KEY, not both', '--secret');
    if (process.stdin.isTTY) {
      for (const key of fromStdin) out[key] = secretValue(await promptHidden(`${key}: `));
    } else {
      const lines = (await readStdin()).split(/\r?\n/);
      fromStdin.forEach((key, i) => {
        const line = lines[i];
        if (line === undefined || line === '')
          throw usage(
            `--secret ${key}: no value on line ${i + 1} of stdin (one line per --secret, in order)`,
            '--secret',
          );
        out[key] = secretValue(line);
      });
    }
  }
  return out;
}

const CONNECTOR_CODES: ReadonlySet<string> = new Set(Object.values(ConnectorErrors));

const collect = (v: string, prev: string[] = []) => [...prev, v];

function lastTestText(t: TargetView): string {
  if (!t.lastTest) return 'never tested';
  return t.lastTest.ok ? `ok (${t.lastTest.at})` : `FAILED: ${t.lastTest.code} (${t.lastTest.at})`;
}

function printTarget(t: TargetView, out: Out): void {
  out.line(`${t.name} — ${t.connector}${t.enabled ? '' : ' (disabled)'}`);
  out.line(`  last test   ${lastTestText(t)}${t.lastTest?.message ? `: ${t.lastTest.message}` : ''}`);
  for (const [k, v] of Object.entries(t.secrets)) out.line(`  ${k.padEnd(11)} ${v} (credential)`);
  for (const line of JSON.stringify(t.config, null, 2).split('\n')) out.line(`  ${line}`);
  out.line(`  changed     ${t.updatedAt} by ${t.updatedBy}`);
}

function printTask(t: TaskView, out: Out): void {
  out.line(`${t.summary}`);
  out.line(`  task ${t.id} · ${t.target} · ${t.operation} · ${t.status} · opened ${t.createdAt}`);
  const steps = Array.isArray(t.details.steps) ? (t.details.steps as string[]) : [];
  steps.forEach((s, i) => out.line(`  ${i + 1}. ${s}`));
  if (t.status !== 'open') out.line(`  ${t.status} by ${t.completedBy} at ${t.completedAt}: ${t.note}`);
}

const SECRET_HELP = `
Credentials (the connector's secret fields) never need to be typed on the command line:
  --secrets-file FILE   a JSON object or KEY=VALUE lines ("-" reads them from stdin)
  --secret KEY          reads the value from stdin (one line per --secret, in order), or asks on a terminal
  --secret KEY=VALUE    works, but the value shows in the process list and shell history
Examples:
  gatehouse targets add corp-ldap --connector ldap --config ldap.json --secrets-file ldap.secrets
  printf '%s\\n' "$BIND_PASSWORD" | gatehouse targets add corp-ldap --connector ldap --config ldap.json --secret bindPassword
Connector types and their settings: gatehouse targets types`;

export function registerTargetCommands(program: Command): void {
  const targets = program.command('targets').description('Connected systems (targets) and their credentials');

  targets
    .command('types')
    .description('Connector types: what each can do and which settings are credentials')
    .addOption(jsonOption())
    .action(
      run<{ json?: boolean }>(async (_o, out) => {
        const items = CONNECTORS.map((c) => ({
          type: c.type,
          title: c.title,
          secretFields: c.secretFields.join(', ') || '-',
          capabilities: c.capabilities.join(', '),
          description: c.description,
        }));
        if (out.json) out.data({ items });
        else out.line(table(items, ['type', 'title', 'secretFields', 'capabilities']));
      }),
    );

  targets
    .command('list')
    .addOption(jsonOption())
    .action(
      run<{ json?: boolean }>(async (_o, out) => {
        const cfg = config();
        const items = cfg.remoteUrl
          ? (await api<{ items: TargetView[] }>(cfg, 'GET', '/api/v1/targets')).items
          : await withRuntime(cfg, 'targets list', (rt) => listTargets(rt.database.pool));
        if (out.json) out.data({ items });
        else if (items.length === 0)
          out.line('No targets yet. Add one with: gatehouse targets add NAME --connector TYPE --config FILE');
        else
          out.line(
            table(
              items.map((t) => ({ ...t, lastTest: lastTestText(t) })),
              ['name', 'connector', 'enabled', 'lastTest', 'updatedAt'],
            ),
          );
      }),
    );

  targets
    .command('show')
    .argument('<name>', 'target name')
    .addOption(jsonOption())
    .action(
      run<{ json?: boolean }>(async (_o, out, cmd) => {
        const name = cmd.args[0]!;
        const cfg = config();
        const t = cfg.remoteUrl
          ? await api<TargetView>(cfg, 'GET', path(name))
          : await withRuntime(cfg, 'targets show', (rt) => getTarget(rt.database.pool, name));
        if (out.json) out.data(t);
        else printTarget(t, out);
      }),
    );

  targets
    .command('add')
    .description(
      'Add a target; its configuration is checked by the connector type, credentials stored encrypted',
    )
    .argument('<name>', 'lower-case letters, digits, ".", "_" or "-"')
    .requiredOption('--connector <type>', `connector type: ${CONNECTORS.map((c) => c.type).join(', ')}`)
    .option('--config <file-or-json>', 'the settings: a JSON file, or inline JSON starting with "{"')
    .option('--secret <key[=value]>', 'a credential (see below); repeatable', collect)
    .option('--secrets-file <file>', 'credentials as JSON or KEY=VALUE lines ("-": stdin)')
    .option('--disabled', 'add it disabled (nothing is sent to it until enabled)')
    .addOption(jsonOption())
    .addHelpText('after', SECRET_HELP)
    .action(
      run<{
        connector: string;
        config?: string;
        secret?: string[];
        secretsFile?: string;
        disabled?: boolean;
        json?: boolean;
      }>(async (o, out, cmd) => {
        const name = cmd.args[0]!;
        const input = {
          name,
          connector: o.connector,
          config: { ...(await readConfig(o.config)), ...(await readSecrets(o)) },
          ...(o.disabled ? { enabled: false } : {}),
        };
        const cfg = config();
        const t = cfg.remoteUrl
          ? await api<TargetView>(cfg, 'POST', '/api/v1/targets', input)
          : await withRuntime(cfg, 'targets add', (rt) =>
              transaction(rt.database, (tx) => createTarget(tx, cliContext(rt), openDeps(rt), input)),
            );
        if (out.json) out.data(t);
        else {
          out.line(`Added target "${t.name}" (${t.connector}).`);
          out.line(`Check the connection with: gatehouse targets test ${t.name}`);
        }
      }),
    );

  targets
    .command('set')
    .description(
      'Change a target: settings are merged into the stored ones (null removes one); credentials not given are kept',
    )
    .argument('<name>', 'target name')
    .option('--config <file-or-json>', 'settings to change: a JSON file, or inline JSON starting with "{"')
    .option('--secret <key[=value]>', 'a credential to replace (see below); repeatable', collect)
    .option('--secrets-file <file>', 'credentials to replace, as JSON or KEY=VALUE lines ("-": stdin)')
    .option('--enable', 'enable the target')
    .option('--disable', 'disable the target (nothing is sent to it)')
    .addOption(jsonOption())
    .addHelpText('after', SECRET_HELP)
    .action(
      run<{
        config?: string;
        secret?: string[];
        secretsFile?: string;
        enable?: boolean;
        disable?: boolean;
        json?: boolean;
      }>(async (o, out, cmd) => {
        const name = cmd.args[0]!;
        if (o.enable && o.disable) throw usage('use --enable or --disable, not both', '--enable');
        const patch = { ...(await readConfig(o.config)), ...(await readSecrets(o)) };
        const input = {
          ...(Object.keys(patch).length ? { config: patch } : {}),
          ...(o.enable ? { enabled: true } : o.disable ? { enabled: false } : {}),
        };
        if (Object.keys(input).length === 0)
          throw usage(
            'nothing to change: give --config, --secret, --secrets-file, --enable or --disable',
            'name',
          );
        const cfg = config();
        const t = cfg.remoteUrl
          ? await api<TargetView>(cfg, 'PATCH', path(name), input)
          : await withRuntime(cfg, 'targets set', (rt) =>
              transaction(rt.database, (tx) => updateTarget(tx, cliContext(rt), openDeps(rt), name, input)),
            );
        if (out.json) out.data(t);
        else out.line(`Updated target "${t.name}".`);
      }),
    );

  targets
    .command('remove')
    .description('Remove a target (refused while it has open tasks)')
    .argument('<name>', 'target name')
    .addOption(jsonOption())
    .action(
      run<{ json?: boolean }>(async (_o, out, cmd) => {
        const name = cmd.args[0]!;
        const cfg = config();
        if (cfg.remoteUrl) await api(cfg, 'DELETE', path(name));
        else
          await withRuntime(cfg, 'targets remove', (rt) =>
            transaction(rt.database, (tx) => deleteTarget(tx, cliContext(rt), name)),
          );
        if (out.json) out.data({ removed: name });
        else out.line(`Removed target "${name}".`);
      }),
    );

  targets
    .command('test')
    .description('Test the connection to a target')
    .argument('<name>', 'target name')
    .addOption(jsonOption())
    .addHelpText('after', '\nExit codes: 0 the connection works, 3 it does not (the reason is printed).')
    .action(
      run<{ json?: boolean }>(async (_o, out, cmd) => {
        const name = cmd.args[0]!;
        const cfg = config();
        try {
          const r = cfg.remoteUrl
            ? await api<{ ok: true; details: Record<string, string>; testedAt: string }>(
                cfg,
                'POST',
                `${path(name)}/test`,
                {},
              )
            : await withRuntime(cfg, 'targets test', (rt) => testTarget(openDeps(rt), name));
          if (out.json) out.data(r);
          else {
            out.line(`The connection to "${name}" works.`);
            for (const [k, v] of Object.entries(r.details)) out.line(`  ${k.padEnd(12)} ${v}`);
          }
          return EXIT.ok;
        } catch (e) {
          // A failed test is an answer, not a crash: the connector's code and sentence, and what the target said.
          if (!isGatehouseError(e) || !CONNECTOR_CODES.has(e.code)) throw e;
          const targetMessage =
            typeof e.details.targetMessage === 'string' ? e.details.targetMessage : undefined;
          if (out.json)
            out.data({
              ok: false,
              error: { code: e.code, message: e.message, ...(targetMessage ? { targetMessage } : {}) },
            });
          else {
            process.stderr.write(`gatehouse: the connection to "${name}" failed: ${e.message} [${e.code}]\n`);
            if (targetMessage) process.stderr.write(`  the target said: ${targetMessage}\n`);
          }
          return EXIT.checkFailed;
        }
      }),
    );

  const tasks = program.command('tasks').description('Tasks for people on manual targets');
  tasks
    .command('list')
    .option('--status <status>', `${TASK_STATUSES.join(', ')} (default: all)`)
    .option('--target <name>', 'only this target')
    .option('--limit <n>', 'how many', '50')
    .addOption(jsonOption())
    .action(
      run<{ status?: string; target?: string; limit: string; json?: boolean }>(async (o, out) => {
        if (o.status !== undefined && !(TASK_STATUSES as readonly string[]).includes(o.status))
          throw usage(`--status must be one of ${TASK_STATUSES.join(', ')}, not "${o.status}"`, '--status');
        const limit = Number(o.limit);
        if (!Number.isInteger(limit) || limit < 1 || limit > 500)
          throw usage(`--limit must be a whole number from 1 to 500, not "${o.limit}"`, '--limit');
        const cfg = config();
        const query = {
          ...(o.status ? { status: o.status as TaskStatus } : {}),
          ...(o.target ? { target: o.target } : {}),
          limit,
        };
        const r = cfg.remoteUrl
          ? await api<{ items: TaskView[]; nextCursor: string | null }>(
              cfg,
              'GET',
              `/api/v1/tasks?${new URLSearchParams({ ...query, limit: String(limit) })}`,
            )
          : await withRuntime(cfg, 'tasks list', (rt) => listTasks(rt.database.pool, query));
        if (out.json) out.data(r);
        else if (r.items.length === 0) out.line(o.status === 'open' ? 'No open tasks.' : 'No tasks.');
        else
          out.line(
            table(r.items as unknown as Record<string, unknown>[], ['id', 'target', 'status', 'summary']),
          );
      }),
    );

  tasks
    .command('show')
    .argument('<id>', 'task id')
    .addOption(jsonOption())
    .action(
      run<{ json?: boolean }>(async (_o, out, cmd) => {
        const id = cmd.args[0]!;
        const cfg = config();
        const t = cfg.remoteUrl
          ? await api<TaskView>(cfg, 'GET', `/api/v1/tasks/${encodeURIComponent(id)}`)
          : await withRuntime(cfg, 'tasks show', (rt) => getTask(rt.database.pool, id));
        if (out.json) out.data(t);
        else printTask(t, out);
      }),
    );

  for (const [verb, fn] of [
    ['complete', completeTask],
    ['cancel', cancelTask],
  ] as const)
    tasks
      .command(verb)
      .description(
        verb === 'complete'
          ? 'The work is done: complete the task with a note saying what you did'
          : 'The work will not be done: cancel the task with a note saying why',
      )
      .argument('<id>', 'task id')
      .requiredOption('--note <text>', verb === 'complete' ? 'what you did (required)' : 'why (required)')
      .addOption(jsonOption())
      .action(
        run<{ note: string; json?: boolean }>(async (o, out, cmd) => {
          const id = cmd.args[0]!;
          const cfg = config();
          const t = cfg.remoteUrl
            ? await api<TaskView>(cfg, 'POST', `/api/v1/tasks/${encodeURIComponent(id)}/${verb}`, {
                note: o.note,
              })
            : await withRuntime(cfg, `tasks ${verb}`, (rt) =>
                transaction(rt.database, (tx) => fn(tx, cliContext(rt), id, o.note)),
              );
          if (out.json) out.data(t);
          else out.line(`${verb === 'complete' ? 'Done' : 'Cancelled'}: ${t.summary}.`);
        }),
      );
}
