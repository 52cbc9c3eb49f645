import { randomBytes } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
  openSync,
  writeSync,
  closeSync,
} from 'node:fs';
import { join } from 'node:path';
import { GatehouseError } from '../kit/errors.ts';
import { isProcessAlive } from './postgres-server.ts';

/**
 * The data directory's ownership record. Exactly one live process owns a directory; the file is created with
 * O_EXCL, and a lock whose process is gone (or was written before the last reboot) is stale and taken over.
 */
export interface LockInfo {
  pid: number;
  bootId: string;
  startedAt: string;
  command: string;
  pgPort?: number;
}

export const DataDirErrors = { locked: 'data_dir_locked', unusable: 'data_dir_unusable' } as const;

export function lockPath(dataDir: string): string {
  return join(dataDir, 'gatehouse.lock');
}

export function bootId(): string {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return 'unknown';
  }
}

export function readLock(dataDir: string): LockInfo | undefined {
  try {
    return JSON.parse(readFileSync(lockPath(dataDir), 'utf8')) as LockInfo;
  } catch {
    return undefined;
  }
}

/** A lock is live when its process exists and it was written during this boot. */
export function isLive(lock: LockInfo | undefined): lock is LockInfo {
  return lock !== undefined && lock.bootId === bootId() && isProcessAlive(lock.pid);
}

/** Try to become the owner. Returns the live owner's lock instead when another process holds it. */
export function acquireLock(
  dataDir: string,
  command: string,
): { acquired: true; lock: LockInfo } | { acquired: false; owner: LockInfo } {
  ensureDir(dataDir);
  const path = lockPath(dataDir);
  for (let attempt = 0; attempt < 3; attempt++) {
    const lock: LockInfo = {
      pid: process.pid,
      bootId: bootId(),
      startedAt: new Date().toISOString(),
      command,
    };
    try {
      const fd = openSync(path, 'wx', 0o600);
      writeSync(fd, JSON.stringify(lock));
      closeSync(fd);
      return { acquired: true, lock };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const existing = readLock(dataDir);
    if (isLive(existing)) return { acquired: false, owner: existing };
    if (existing === undefined && attempt === 0) {
      // Being written right now by another starter: give it a moment before treating it as stale.
      sleepSync(100);
      continue;
    }
    // Stale: its owner died (e.g. SIGKILL) or the machine rebooted. Move it aside atomically and retry.
    try {
      renameSync(path, `${path}.stale-${process.pid}`);
      rmSync(`${path}.stale-${process.pid}`, { force: true });
    } catch {
      /* another process took it over first; loop and look again */
    }
  }
  const owner = readLock(dataDir);
  if (owner) return { acquired: false, owner };
  throw new GatehouseError(DataDirErrors.locked, `could not take the lock ${path}`);
}

/** Record facts about the running owner (the embedded server's port) in the lock. */
export function updateLock(dataDir: string, lock: LockInfo): void {
  const tmp = `${lockPath(dataDir)}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(lock), { mode: 0o600 });
  renameSync(tmp, lockPath(dataDir));
}

export function releaseLock(dataDir: string): void {
  const lock = readLock(dataDir);
  if (lock?.pid === process.pid) rmSync(lockPath(dataDir), { force: true });
}

/** The embedded cluster's superuser password: created once, kept 0600 in secrets/. */
export function embeddedPassword(dataDir: string, create: boolean): string {
  const dir = join(dataDir, 'secrets');
  const file = join(dir, 'pg-password');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  if (!create) throw new GatehouseError(DataDirErrors.unusable, `${file} is missing`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const pw = randomBytes(24).toString('base64url');
  writeFileSync(file, pw + '\n', { mode: 0o600, flag: 'wx' });
  return pw;
}

function ensureDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw new GatehouseError(
      DataDirErrors.unusable,
      `GATEHOUSE_DATA_DIR: cannot create ${dir}: ${(e as Error).message}`,
      { cause: e },
    );
  }
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** The key that encrypts secrets at rest when GATEHOUSE_SECRET_KEY is unset (embedded mode): created once, 0600. */
export function embeddedSecretKey(dataDir: string): Buffer {
  const dir = join(dataDir, 'secrets');
  const file = join(dir, 'master.key');
  if (!existsSync(file)) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    try {
      writeFileSync(file, randomBytes(32).toString('base64') + '\n', { mode: 0o600, flag: 'wx' });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  }
  const key = Buffer.from(readFileSync(file, 'utf8').trim(), 'base64');
  if (key.length !== 32)
    throw new GatehouseError(DataDirErrors.unusable, `${file} does not hold a 32-byte key`);
  return key;
}
