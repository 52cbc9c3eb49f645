/**
 * Benchmark harness. `npm run bench -- NAME [--rows N]` runs bench/NAME.bench.ts and writes bench/results/NAME.json.
 * `npm run bench` with no name lists the available benches.
 */
import { cpus, loadavg, release, totalmem, platform } from 'node:os';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { BenchModule, BenchOptions } from './types.ts';

const benchDir = dirname(fileURLToPath(import.meta.url));
const SUFFIX = '.bench.ts';

function availableBenches(): string[] {
  return readdirSync(benchDir)
    .filter((f) => f.endsWith(SUFFIX))
    .map((f) => f.slice(0, -SUFFIX.length))
    .sort();
}

function usage(out: (s: string) => void): void {
  out('usage: npm run bench -- NAME [--rows N]');
  out('available benches:');
  for (const b of availableBenches()) out(`  ${b}`);
}

function parseArgs(argv: string[]): { name?: string; rows?: number } {
  let name: string | undefined;
  let rows: number | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--rows' || a.startsWith('--rows=')) {
      const raw = a === '--rows' ? argv[++i] : a.slice('--rows='.length);
      const n = Number(raw?.replace(/_/g, ''));
      if (!Number.isSafeInteger(n) || n <= 0) {
        console.error(`--rows needs a positive integer, got ${JSON.stringify(raw)}`);
        process.exit(2);
      }
      rows = n;
    } else if (a === '--help' || a === '-h') {
      usage(console.log);
      process.exit(0);
    } else if (a.startsWith('-')) {
      console.error(`unknown option ${a}`);
      usage(console.error);
      process.exit(2);
    } else if (name === undefined) {
      name = a;
    } else {
      console.error(`unexpected argument ${a}`);
      process.exit(2);
    }
  }
  return { name, rows };
}

const round2 = (x: number) => Math.round(x * 100) / 100;

async function main(): Promise<void> {
  const { name, rows } = parseArgs(process.argv.slice(2));
  if (name === undefined) {
    usage(console.log);
    return;
  }
  if (!availableBenches().includes(name)) {
    console.error(`unknown bench "${name}"`);
    usage(console.error);
    process.exit(2);
  }

  const mod = (await import(pathToFileURL(join(benchDir, name + SUFFIX)).href)) as BenchModule;
  const started = new Date();
  const loadBefore = loadavg();
  const log = (s: string) => console.log(`[${name}] ${s}`);
  const opts: BenchOptions = { log };
  if (rows !== undefined) opts.rows = rows;
  const result = await mod.default(opts);

  const cpuList = cpus();
  const output = {
    name,
    date: started.toISOString(),
    machine: {
      cpus: { model: cpuList[0]?.model.trim() ?? 'unknown', count: cpuList.length },
      memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
      platform: platform(),
      release: release(),
      node: process.version,
      postgres: result.postgresVersion ?? null,
      // Other work on the machine skews absolute numbers: 1-minute load average when the bench started and ended.
      loadAverage1m: { start: round2(loadBefore[0] ?? 0), end: round2(loadavg()[0] ?? 0) },
    },
    figures: result.figures,
    baseline: result.baseline,
    ratios: result.ratios,
    notes: result.notes,
  };
  const resultsDir = join(benchDir, 'results');
  mkdirSync(resultsDir, { recursive: true });
  const file = join(resultsDir, `${name}.json`);
  writeFileSync(file, JSON.stringify(output, null, 2) + '\n');
  log(`wrote ${file}`);
  for (const [k, v] of Object.entries(result.ratios)) log(`ratio ${k}: ${v}`);
}

main().then(
  () => process.exit(process.exitCode ?? 0),
  (e: unknown) => {
    console.error(e instanceof Error ? (e.stack ?? e.message) : e);
    process.exit(1);
  },
);
