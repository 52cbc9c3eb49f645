/**
 * One real Samba AD domain controller per machine, shared by every test file, every vitest worker process and the
 * benches. Samba's LDAP ports (389/636) are fixed, so the DC is a cross-process lazy singleton:
 *
 * - state lives in `$TMPDIR/gatehouse-samba/` (`ready.json`, `leases/`, `lock/`, the running domain in `dc/`);
 * - the first caller of `sambaDc()` takes the lock (an atomic `mkdir`), restores the cached provisioned template
 *   (or provisions one, ~10 s, and caches it in `$TMPDIR/gatehouse-samba-template-<key>/`), starts `samba`,
 *   waits for an LDAPS bind and writes `ready.json`; the others wait on the lock and reuse it;
 * - every user leaves a lease named after its run (the vitest main process, or the bench process); a detached
 *   watchdog (scripts/test-servers/samba/dc.ts watchdog) stops the DC once no lease's process is alive, so a
 *   killed test run still leaves nothing behind. `releaseSambaDc()` drops a lease and stops the DC at once when it
 *   was the last one (global-setup's teardown calls it).
 *
 * The domain: realm CORP.EXAMPLE.TEST, rfc2307, loopback only, LDAPS with a CA made here, `server services = ldap`
 * (no SMB, KDC or replication: the tests only speak LDAP), minimum password age 0, passwords never expire, lockout
 * after LOCKOUT_THRESHOLD bad passwords (for the 775 test). Complexity on, minimum length 7 (Samba's defaults).
 */
import { execFile, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Client } from 'ldapts';

const run = promisify(execFile);

export const SAMBA_INSTALL_HINT =
  'install a Samba AD DC (Debian, as root): apt-get install samba samba-ad-provision samba-dsdb-modules ' +
  'samba-vfs-modules winbind openssl';

export const REALM = 'CORP.EXAMPLE.TEST';
export const NETBIOS_DOMAIN = 'CORP';
export const BASE_DN = 'DC=corp,DC=example,DC=test';
export const UPN_SUFFIX = 'corp.example.test';
export const LOCKOUT_THRESHOLD = 3;
/** Bump when the provisioning recipe changes, so an old cached template is not reused. */
const RECIPE = 3;

export interface SambaDc {
  /** ldaps://127.0.0.1:636 */
  url: string;
  /** PEM of the CA that signed the DC's certificate (verify with it; never rejectUnauthorized: false). */
  ca: string;
  caFile: string;
  baseDn: string;
  realm: string;
  netbiosDomain: string;
  upnSuffix: string;
  adminDn: string;
  adminUpn: string;
  adminPassword: string;
  /** The DC's smb.conf, for `samba-tool ... -s` in a test that needs it. */
  smbConf: string;
  lockoutThreshold: number;
  /** Process id of the samba root process. */
  pid: number;
}

const STATE = join(tmpdir(), 'gatehouse-samba');
const DC_DIR = join(STATE, 'dc');
const READY = join(STATE, 'ready.json');
const LOCK = join(STATE, 'lock');
const LEASES = join(STATE, 'leases');
const WATCHDOG_PID = join(STATE, 'watchdog.pid');
const SAMBA_LOG = join(STATE, 'samba.log');
const WATCHDOG_SCRIPT = resolve(
  fileURLToPath(import.meta.url),
  '..',
  '..',
  '..',
  'scripts',
  'test-servers',
  'samba',
  'dc.ts',
);

// ---------------------------------------------------------------------------------------------------------------
// Availability

function which(cmd: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/local/sbin', '/sbin'];
  for (const d of dirs) if (d && existsSync(join(d, cmd))) return join(d, cmd);
  return undefined;
}

function hasAclXattrModule(): boolean {
  // Provisioning sets the sysvol ACLs through smbd's acl_xattr VFS module (Debian: samba-vfs-modules).
  for (const lib of ['/usr/lib', '/usr/lib64', '/usr/local/samba/lib']) {
    if (existsSync(join(lib, 'samba', 'vfs', 'acl_xattr.so'))) return true;
    let subdirs: string[];
    try {
      subdirs = readdirSync(lib);
    } catch {
      continue;
    }
    for (const d of subdirs) if (existsSync(join(lib, d, 'samba', 'vfs', 'acl_xattr.so'))) return true;
  }
  return false;
}

/** Why the Samba DC cannot run here (with the install hint), or undefined when it can. */
export function sambaMissing(): string | undefined {
  const missing = ['samba', 'samba-tool', 'openssl'].filter((c) => !which(c));
  if (!hasAclXattrModule()) missing.push('acl_xattr VFS module');
  if (missing.length === 0) return undefined;
  return `Samba AD DC tests need ${missing.join(', ')}: ${SAMBA_INSTALL_HINT}`;
}

/**
 * For `describe.skipIf(...)`: on CI (`CI=true`) a missing Samba throws (a failure, never a skip); locally it returns
 * the reason, printed once, so the suite skips with the install hint.
 */
export function sambaSkip(): string | undefined {
  const why = sambaMissing();
  if (!why) return undefined;
  if (process.env.CI === 'true') throw new Error(`CI=true and ${why}`);
  console.warn(`[samba] skipping: ${why}`);
  return why;
}

// ---------------------------------------------------------------------------------------------------------------
// Small process and file helpers

function alive(pid: number | undefined): boolean {
  if (!pid || !Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function readJson<T>(file: string): T | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

function writeAtomically(file: string, text: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, text, { mode: 0o600 });
  renameSync(tmp, file);
}

function tail(file: string, chars = 3000): string {
  try {
    const t = readFileSync(file, 'utf8');
    return t.slice(-chars);
  } catch {
    return '(no log)';
  }
}

/**
 * The run a process belongs to: in a vitest fork the main vitest process (so all workers of one run share one
 * lease), otherwise the process itself.
 */
export function leaseOwner(): number {
  return process.env.VITEST && typeof process.send === 'function' ? process.ppid : process.pid;
}

/** An exclusive, cross-process lock: an atomic mkdir holding the owner's pid; a dead owner's lock is taken over. */
export async function withStateLock<T>(fn: () => Promise<T>, waitMs = 240_000): Promise<T> {
  mkdirSync(STATE, { recursive: true });
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      mkdirSync(LOCK);
      writeFileSync(join(LOCK, 'pid'), String(process.pid));
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const holder = Number(readFileSync(join(LOCK, 'pid'), { encoding: 'utf8', flag: 'a+' }) || 0);
      if (holder && !alive(holder)) {
        // The holder died: move its lock aside atomically (only one waiter wins the rename), then retry.
        try {
          renameSync(LOCK, `${LOCK}.stale.${process.pid}.${randomBytes(4).toString('hex')}`);
        } catch {
          /* another waiter took it over first */
        }
        continue;
      }
      if (Date.now() > deadline)
        throw new Error(`timed out waiting for the Samba DC lock held by pid ${holder}`, { cause: e });
      await sleep(200);
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(LOCK, { recursive: true, force: true });
    for (const f of readdirSync(STATE)) {
      if (f.startsWith('lock.stale.')) rmSync(join(STATE, f), { recursive: true, force: true });
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Provisioning (cached template) and start/stop

interface Template {
  dir: string;
  adminPassword: string;
}

async function templateDir(): Promise<string> {
  const { stdout } = await run(which('samba') ?? 'samba', ['--version']);
  const key = createHash('sha256').update(`${stdout.trim()}|${RECIPE}|${STATE}`).digest('hex').slice(0, 12);
  return join(tmpdir(), `gatehouse-samba-template-${key}`);
}

function strongPassword(): string {
  // Meets AD complexity (upper, lower, digit, symbol) whatever the random part holds.
  return `Gh-${randomBytes(12).toString('base64url')}-9aZ`;
}

async function makeTls(dir: string): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const o = (args: string, ...more: string[]) => run('openssl', [...args.split(' '), ...more], { cwd: dir });
  await o(
    'req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 3650 -subj',
    '/CN=Gatehouse test CA',
  );
  await o('req -newkey rsa:2048 -nodes -keyout key.pem -out req.csr -subj', `/CN=dc1.${UPN_SUFFIX}`);
  writeFileSync(
    join(dir, 'ext.cnf'),
    `subjectAltName=DNS:dc1.${UPN_SUFFIX},DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n`,
  );
  await o(
    'x509 -req -in req.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out cert.pem -days 3650 -extfile ext.cnf',
  );
  // Samba refuses a private key that others can read.
  await run('chmod', ['600', join(dir, 'key.pem'), join(dir, 'ca.key')]);
}

/** Provision a fresh domain into DC_DIR (Samba writes absolute paths into smb.conf, so always at that path). */
async function provision(adminPassword: string): Promise<void> {
  rmSync(DC_DIR, { recursive: true, force: true });
  const tls = join(DC_DIR, 'tls');
  await makeTls(tls);
  for (const d of ['run', 'log']) mkdirSync(join(DC_DIR, d), { recursive: true });
  const options = {
    interfaces: 'lo',
    'bind interfaces only': 'yes',
    'tls keyfile': join(tls, 'key.pem'),
    'tls certfile': join(tls, 'cert.pem'),
    'tls cafile': join(tls, 'ca.pem'),
    'server services': 'ldap',
    'pid directory': join(DC_DIR, 'run'),
    'log file': join(DC_DIR, 'log', 'log.%m'),
  };
  const args = [
    'domain',
    'provision',
    '--use-rfc2307',
    `--realm=${REALM}`,
    `--domain=${NETBIOS_DOMAIN}`,
    '--server-role=dc',
    '--dns-backend=NONE',
    `--adminpass=${adminPassword}`,
    `--targetdir=${DC_DIR}`,
    '--host-name=dc1',
    '--host-ip=127.0.0.1',
    ...Object.entries(options).map(([k, v]) => `--option=${k}=${v}`),
  ];
  try {
    await run('samba-tool', args, { maxBuffer: 64 * 1024 * 1024 });
    await run('samba-tool', [
      'domain',
      'passwordsettings',
      'set',
      '-s',
      join(DC_DIR, 'etc', 'smb.conf'),
      '--min-pwd-age=0',
      '--max-pwd-age=0',
      `--account-lockout-threshold=${LOCKOUT_THRESHOLD}`,
      '--account-lockout-duration=5',
      '--reset-account-lockout-after=5',
    ]);
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string; message: string };
    const out = `${err.stdout ?? ''}\n${err.stderr ?? ''}`;
    const hint = /acl_xattr/.test(out) ? ` (${SAMBA_INSTALL_HINT})` : '';
    throw new Error(`samba-tool failed${hint}: ${err.message.split('\n')[0]}\n${out.slice(-3000)}`, {
      cause: e,
    });
  }
}

async function restoreOrProvision(): Promise<Template> {
  const dir = await templateDir();
  const meta = readJson<{ adminPassword: string }>(join(dir, 'gatehouse.json'));
  if (meta) {
    rmSync(DC_DIR, { recursive: true, force: true });
    // cp -a keeps the xattrs (sysvol NT ACLs) that a plain copy would drop.
    await run('cp', ['-a', dir, DC_DIR]);
    rmSync(join(DC_DIR, 'gatehouse.json'), { force: true });
    return { dir, adminPassword: meta.adminPassword };
  }
  const adminPassword = strongPassword();
  await provision(adminPassword);
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  await run('cp', ['-a', DC_DIR, tmp]);
  writeFileSync(join(tmp, 'gatehouse.json'), JSON.stringify({ adminPassword }), { mode: 0o600 });
  try {
    renameSync(tmp, dir);
  } catch {
    rmSync(tmp, { recursive: true, force: true }); // another run cached one meanwhile
  }
  return { dir, adminPassword };
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((done) => {
    const s = connect({ host: '127.0.0.1', port });
    s.setTimeout(1000);
    s.once('connect', () => {
      s.destroy();
      done(true);
    });
    s.once('error', () => done(false));
    s.once('timeout', () => {
      s.destroy();
      done(false);
    });
  });
}

async function canBind(dc: Pick<SambaDc, 'url' | 'ca' | 'adminUpn' | 'adminPassword'>): Promise<boolean> {
  const c = new Client({ url: dc.url, tlsOptions: { ca: dc.ca }, connectTimeout: 3000, timeout: 5000 });
  try {
    await c.bind(dc.adminUpn, dc.adminPassword);
    return true;
  } catch {
    return false;
  } finally {
    await c.unbind().catch(() => undefined);
  }
}

async function start(): Promise<SambaDc> {
  for (const port of [389, 636]) {
    if (await portOpen(port)) {
      throw new Error(
        `127.0.0.1:${port} is already in use by a process that is not this harness's Samba DC (a system samba or ` +
          'slapd? stop it: service samba-ad-dc stop; service slapd stop)',
      );
    }
  }
  const template = await restoreOrProvision();
  const smbConf = join(DC_DIR, 'etc', 'smb.conf');
  const caFile = join(DC_DIR, 'tls', 'ca.pem');
  const log = openSync(SAMBA_LOG, 'a');
  const child = spawn(
    which('samba') ?? 'samba',
    ['-F', '--no-process-group', '--debug-stdout', '-s', smbConf],
    {
      detached: true, // its own process group: stopping kills the whole tree, a dying test worker does not
      stdio: ['ignore', log, log],
    },
  );
  closeSync(log);
  child.unref();
  let exited = false;
  child.once('exit', () => (exited = true));
  const dc: SambaDc = {
    url: 'ldaps://127.0.0.1:636',
    ca: readFileSync(caFile, 'utf8'),
    caFile,
    baseDn: BASE_DN,
    realm: REALM,
    netbiosDomain: NETBIOS_DOMAIN,
    upnSuffix: UPN_SUFFIX,
    adminDn: `CN=Administrator,CN=Users,${BASE_DN}`,
    adminUpn: `Administrator@${UPN_SUFFIX}`,
    adminPassword: template.adminPassword,
    smbConf,
    lockoutThreshold: LOCKOUT_THRESHOLD,
    pid: child.pid!,
  };
  const deadline = Date.now() + 90_000;
  while (!(await canBind(dc))) {
    if (exited) throw new Error(`samba exited while starting; log (${SAMBA_LOG}):\n${tail(SAMBA_LOG)}`);
    if (Date.now() > deadline) {
      await killTree(dc.pid);
      throw new Error(`samba did not accept an LDAPS bind within 90 s; log:\n${tail(SAMBA_LOG)}`);
    }
    await sleep(200);
  }
  writeAtomically(READY, JSON.stringify(dc, null, 2));
  return dc;
}

async function killTree(pid: number): Promise<void> {
  const signal = (sig: NodeJS.Signals) => {
    try {
      process.kill(-pid, sig);
    } catch {
      /* already gone */
    }
  };
  signal('SIGTERM');
  for (let i = 0; i < 100 && alive(pid); i++) await sleep(100);
  signal('SIGKILL');
  for (let i = 0; i < 50 && alive(pid); i++) await sleep(100);
}

/** Stop the DC and forget its domain (call with the lock held). */
async function stopLocked(): Promise<void> {
  const dc = readJson<SambaDc>(READY);
  if (dc) await killTree(dc.pid);
  rmSync(READY, { force: true });
  rmSync(DC_DIR, { recursive: true, force: true });
  rmSync(LEASES, { recursive: true, force: true });
}

function ensureWatchdog(): void {
  const pid = Number(readJson<number>(WATCHDOG_PID) ?? 0);
  if (alive(pid)) return;
  const log = openSync(join(STATE, 'watchdog.log'), 'a');
  const child = spawn(process.execPath, [WATCHDOG_SCRIPT, 'watchdog'], {
    detached: true,
    stdio: ['ignore', log, log],
  });
  closeSync(log);
  child.unref();
  writeAtomically(WATCHDOG_PID, String(child.pid));
}

function addLease(owner: string): void {
  mkdirSync(LEASES, { recursive: true });
  writeFileSync(join(LEASES, owner), `${new Date().toISOString()}\n`);
}

/** Leases whose run is still alive (numeric names are pids; any other name, e.g. "manual", is held until stop). */
function liveLeases(): string[] {
  let names: string[];
  try {
    names = readdirSync(LEASES);
  } catch {
    return [];
  }
  return names.filter((n) => {
    if (!/^\d+$/.test(n)) return true;
    if (alive(Number(n))) return true;
    rmSync(join(LEASES, n), { force: true });
    return false;
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Public API

let current: Promise<SambaDc> | undefined;

/**
 * The machine's shared Samba AD DC, started on first use. `owner` names the lease (default: this vitest run or
 * this process); the DC stays up while any lease's process lives.
 */
export function sambaDc(opts: { owner?: string | number } = {}): Promise<SambaDc> {
  if (current && opts.owner === undefined) return current;
  const p = acquire(String(opts.owner ?? leaseOwner()));
  if (opts.owner === undefined) {
    current = p;
    p.catch(() => (current = undefined));
  }
  return p;
}

async function acquire(owner: string): Promise<SambaDc> {
  const missing = sambaMissing();
  if (missing) throw new Error(missing);
  return withStateLock(async () => {
    addLease(owner);
    let dc = readJson<SambaDc>(READY);
    if (dc && alive(dc.pid) && (await canBind(dc))) {
      ensureWatchdog();
      return dc;
    }
    if (dc) await stopLocked(); // a dead or wedged DC from an earlier run
    addLease(owner);
    dc = await start();
    ensureWatchdog();
    return dc;
  });
}

/**
 * Drop `owner`'s lease (default: this run) and stop the DC when no other live run holds one. For global-setup's
 * teardown and the benches; harmless when no DC was started. True when the DC was stopped (its domain, and all
 * that was written to it, is gone), false when it stays up for others.
 */
export async function releaseSambaDc(owner: string | number = leaseOwner()): Promise<boolean> {
  current = undefined;
  if (!existsSync(STATE)) return false;
  return withStateLock(async () => {
    rmSync(join(LEASES, String(owner)), { force: true });
    if (!existsSync(READY) || liveLeases().length > 0) return false;
    await stopLocked();
    return true;
  });
}

/** Stop the DC whoever uses it (scripts/test-servers/samba/dc.ts stop). */
export async function stopSambaDc(): Promise<void> {
  current = undefined;
  if (!existsSync(STATE)) return;
  await withStateLock(stopLocked);
}

/** The running DC's details, if one is up (scripts/test-servers/samba/dc.ts status). */
export function runningSambaDc(): SambaDc | undefined {
  const dc = readJson<SambaDc>(READY);
  return dc && alive(dc.pid) ? dc : undefined;
}

/**
 * The watchdog's loop (a detached process started with the DC): once no lease's run is alive for GRACE_MS, stop
 * the DC and exit; exit too when the DC is gone or another watchdog replaced this one.
 */
export async function watchdog(graceMs = 2000, pollMs = 1000): Promise<void> {
  let emptySince: number | undefined;
  for (;;) {
    await sleep(pollMs);
    if (Number(readJson<number>(WATCHDOG_PID) ?? 0) !== process.pid) return;
    const dc = readJson<SambaDc>(READY);
    if (!dc) return;
    if (!alive(dc.pid)) {
      await withStateLock(async () => {
        if (readJson<SambaDc>(READY)?.pid === dc.pid) await stopLocked();
      });
      return;
    }
    if (liveLeases().length > 0) {
      emptySince = undefined;
      continue;
    }
    emptySince ??= Date.now();
    if (Date.now() - emptySince < graceMs) continue;
    const stopped = await withStateLock(async () => {
      if (liveLeases().length > 0) return false;
      await stopLocked();
      return true;
    });
    if (stopped) {
      rmSync(WATCHDOG_PID, { force: true });
      return;
    }
    emptySince = undefined;
  }
}

/** A raw ldapts client bound as the domain Administrator (for outside changes and baselines); unbind it after. */
export async function adminClient(dc: SambaDc): Promise<Client> {
  const c = new Client({ url: dc.url, tlsOptions: { ca: dc.ca }, timeout: 30_000 });
  await c.bind(dc.adminUpn, dc.adminPassword);
  return c;
}
