/**
 * `npm run bench` runs every suite listed in scripts/bench/index.ts and prints one table (or, with
 * --json, one JSON object). A suite measures its figure and, in the same run, a baseline, so a
 * ratio is meaningful on a noisy machine. Report medians and percentiles, never a single run.
 */
export interface BenchRow {
  /** e.g. 'decide-1M' */
  readonly case: string;
  /** e.g. 'p99' */
  readonly metric: string;
  readonly value: number;
  /** e.g. 'µs', 'ms', 'MB', 'events/s' */
  readonly unit: string;
  /** The same metric of the baseline measured in this run, when the suite has one. */
  readonly baseline?: number;
  readonly baselineName?: string;
  /** Target in words, e.g. '<= 2 ms'. */
  readonly target?: string;
  /** Whether value meets the target, when there is one. */
  readonly meetsTarget?: boolean;
}

export interface BenchContext {
  /** --quick: smaller sizes for a smoke run (CI); full sizes otherwise. */
  readonly quick: boolean;
  /** Scratch directory for databases and files; removed after the run. */
  readonly workDir: string;
  readonly log: (line: string) => void;
}

export interface BenchSuite {
  readonly name: string;
  run(ctx: BenchContext): Promise<BenchRow[]>;
}

/** Percentile of a sorted-or-not array of numbers (nearest rank). */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}
