import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { suites } from './bench/index.js';
import type { BenchRow } from './bench/types.js';

/**
 * npm run bench [-- --json] [--quick] [--only NAME]
 * Prints one table of figures with their baselines and targets, or one JSON object.
 */
const { values } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    quick: { type: 'boolean', default: false },
    only: { type: 'string', multiple: true },
  },
});
const json = values.json ?? false;
const log = (line: string): void => void process.stderr.write(`${line}\n`);
const results: { suite: string; rows: BenchRow[] }[] = [];
const started = Date.now();
for (const suite of suites) {
  if (values.only && !values.only.includes(suite.name)) continue;
  const workDir = mkdtempSync(join(tmpdir(), `zg-bench-${suite.name}-`));
  log(`# ${suite.name}`);
  try {
    results.push({ suite: suite.name, rows: await suite.run({ quick: values.quick ?? false, workDir, log }) });
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
}
const fmt = (n: number): string =>
  Number.isInteger(n) ? String(n) : n >= 100 ? n.toFixed(0) : n >= 1 ? n.toFixed(2) : n.toPrecision(3);
if (json) {
  process.stdout.write(
    `${JSON.stringify({ node: process.version, quick: values.quick ?? false, seconds: (Date.now() - started) / 1000, results })}\n`,
  );
} else {
  const header = ['suite', 'case', 'metric', 'value', 'baseline', 'ratio', 'target', 'ok'];
  const lines = results.flatMap(({ suite, rows }) =>
    rows.map((r) => [
      suite,
      r.case,
      r.metric,
      `${fmt(r.value)} ${r.unit}`,
      r.baseline !== undefined ? `${fmt(r.baseline)} ${r.unit} (${r.baselineName ?? 'baseline'})` : '',
      r.baseline ? `${fmt(r.value / r.baseline)}x` : '',
      r.target ?? '',
      r.meetsTarget === undefined ? '' : r.meetsTarget ? 'yes' : 'NO',
    ]),
  );
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  for (const l of [header, ...lines]) process.stdout.write(`${l.map((c, i) => c.padEnd(widths[i]!)).join('  ')}\n`);
}
