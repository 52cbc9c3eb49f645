import { existsSync } from 'node:fs';
import { join } from 'node:path';

/** The bin directory of Debian's PostgreSQL server (15, 16 or 17), when one is installed. */
export function systemPgBinDir(): string | undefined {
  for (const v of ['15', '16', '17']) {
    const d = `/usr/lib/postgresql/${v}/bin`;
    if (existsSync(join(d, 'postgres'))) return d;
  }
  return undefined;
}
