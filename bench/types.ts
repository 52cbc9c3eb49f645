/** Shared shapes for the benchmark harness (bench/run.ts) and the bench modules (bench/*.bench.ts). */

export interface BenchOptions {
  /** Row count override from `--rows N`; each bench picks its own default when absent. */
  rows?: number;
  log: (s: string) => void;
}

/** One measured method: how many rows, how long, and the throughput. */
export interface MethodFigures {
  rows: number;
  seconds: number;
  rowsPerSecond: number;
  [extra: string]: number | number[] | string | boolean | null;
}

export type Figures = Record<string, MethodFigures | number | number[] | string | boolean | null>;

export interface BenchResult {
  /** What this bench measured (its own methods, and anything else worth recording). */
  figures: Figures;
  /** The reference point measured in the same run; ratios are computed against it or against other figures. */
  baseline: { name: string; description: string; figures: Figures };
  ratios: Record<string, number>;
  notes: string[];
  /** `SHOW server_version` of the PostgreSQL the bench ran against, when it used one. */
  postgresVersion?: string | null;
}

export type BenchModule = { default: (opts: BenchOptions) => Promise<BenchResult> };
