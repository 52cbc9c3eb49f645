import { mkdir, readdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { uuid } from '../kit/ids.ts';
import type { QueueDefinition } from '../jobs/index.ts';
import type { CommandContext } from '../kit/context.ts';
import { describeError } from '../kit/errors.ts';
import type { Logger } from '../kit/log.ts';
import type { Clock } from '../kit/clock.ts';
import type { Database } from '../db/pool.ts';
import type { Jobs } from '../jobs/index.ts';
import { runImport, type ImportReport } from './imports.ts';
import { listSources } from './sources.ts';

export const DROP_FOLDER_QUEUE = 'hr.drop-folder';

/** A file younger than this may still be being written (an SFTP upload in progress): it waits for the next scan. */
export const SETTLE_MS = 10_000;
const PATTERN = /^[^.].*\.csv$/i;

export interface DropOutcome {
  source: string;
  file: string;
  movedTo: string;
  state: ImportReport['state'] | 'failed';
  message: string;
}

/**
 * Scan every source's drop folder once: each settled `*.csv` is imported like `gatehouse hr import`, then moved to
 * `processed/` (applied, held or previewed) or `failed/` (with a `.error.txt` next to it), so a file is never
 * imported twice and never lost. Files are taken oldest first.
 */
export async function scanDropFolders(deps: {
  database: Pick<Database, 'pool' | 'db'>;
  jobs: Jobs;
  clock: Clock;
  log: Logger;
}): Promise<DropOutcome[]> {
  const out: DropOutcome[] = [];
  const ctx: CommandContext = {
    actor: { type: 'system', id: 'drop-folder', name: 'HR drop folder' },
    clock: deps.clock,
    ids: uuid,
  };
  for (const source of await listSources(deps.database.pool)) {
    if (!source.dropFolder) continue;
    const dir = source.dropFolder;
    let names: string[];
    try {
      names = await readdir(dir);
    } catch (e) {
      deps.log.warn({ source: source.name, dir, err: describeError(e) }, 'cannot read the drop folder');
      continue;
    }
    const now = deps.clock.now().getTime();
    const files: { name: string; mtime: number }[] = [];
    for (const name of names.filter((n) => PATTERN.test(n))) {
      const st = await stat(join(dir, name)).catch(() => null);
      if (st?.isFile() && now - st.mtimeMs >= SETTLE_MS) files.push({ name, mtime: st.mtimeMs });
    }
    files.sort((a, b) => a.mtime - b.mtime || a.name.localeCompare(b.name));
    for (const f of files) {
      const stamp = new Date(now).toISOString().replace(/[:.]/g, '-');
      // Claim the file by moving it (atomic): a concurrent scan that loses the race skips it.
      await mkdir(join(dir, 'processing'), { recursive: true });
      const path = join(dir, 'processing', `${stamp}-${f.name}`);
      try {
        await rename(join(dir, f.name), path);
      } catch {
        continue;
      }
      // Import first; only the import's failure sends the file to failed/ (a file that was applied is never there).
      let report: ImportReport | null = null;
      let failure: unknown = null;
      try {
        report = await runImport(deps, ctx, {
          source: source.name,
          origin: 'drop_folder',
          fileName: f.name,
          content: await readFile(path),
        });
      } catch (e) {
        failure = e;
      }
      const folder = report ? 'processed' : 'failed';
      const movedTo = join(dir, folder, `${stamp}-${f.name}`);
      await mkdir(join(dir, folder), { recursive: true });
      await rename(path, movedTo).catch((e: unknown) =>
        deps.log.warn({ path, movedTo, err: describeError(e) }, 'could not move a drop-folder file'),
      );
      const r = report;
      const message = r
        ? `${r.state}: ${r.rows} rows, ${r.errors.length} errors, ${r.events.length} events${r.heldReasons.length ? ` — ${r.heldReasons.join(' ')}` : ''}`
        : describeError(failure);
      if (!r) await writeFile(`${movedTo}.error.txt`, `${message}\n`).catch(() => undefined);
      const outcome: DropOutcome = {
        source: source.name,
        file: f.name,
        movedTo,
        state: r ? r.state : 'failed',
        message,
      };
      deps.log.info({ ...outcome }, 'drop folder file processed');
      out.push(outcome);
    }
  }
  return out;
}

/** Scans the drop folders every minute. The scan runs outside the job's transaction: each import has its own. */
export const dropFolderQueue: QueueDefinition<object> = {
  name: DROP_FOLDER_QUEUE,
  description: 'Pick up HR files from the sources’ drop folders',
  policy: { retryLimit: 0, expireInSeconds: 3600 },
  cron: { expression: '* * * * *', timeZone: 'UTC' },
  async handle(_jobs, { database, jobs, clock, log }) {
    await scanDropFolders({ database, jobs, clock, log });
  },
};
