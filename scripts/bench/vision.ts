import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MODEL_SIZE_LIMIT_BYTES } from '../../src/vision/model.js';
import { percentile, type BenchContext, type BenchRow, type BenchSuite } from './types.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const clipsDir = join(root, '..', 'shared', 'data', 'real-nl-clips');

interface Probe {
  backend: string;
  frames: number;
  distinctFrames: number;
  innerMs: number[];
  roundTripMs: number[];
  rssBefore: number;
  rssAfter: number;
  workerHeapBytes: number;
  tensorBytes: number;
  modelBytes: number;
}

function probe(backend: string, frames: number, clips: readonly string[]): Promise<Probe> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(root, 'scripts/bench/vision-probe.ts'), backend, String(frames), ...clips],
      {
        cwd: root,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('close', (code) => {
      if (code !== 0) reject(new Error(`vision probe (${backend}) failed: ${err.slice(-500)}`));
      else resolve(JSON.parse(out) as Probe);
    });
  });
}

/**
 * Time to localise and read one 640x480 frame in the vision worker (p50/p99, WASM back-end),
 * with the pure-JavaScript CPU back-end on the same frames as the baseline; model size; RSS the
 * worker adds to the process. Frames come from the real clips when ../shared has them.
 */
export const visionSuite: BenchSuite = {
  name: 'vision',
  async run(ctx: BenchContext): Promise<BenchRow[]> {
    const clips = existsSync(clipsDir)
      ? readdirSync(clipsDir)
          .filter((f) => f.endsWith('.avi'))
          .sort()
          .map((f) => join(clipsDir, f))
      : [];
    if (!clips.length) ctx.log('vision: real clips absent, timing a synthetic frame');
    const n = ctx.quick ? 30 : 200;
    const wasm = await probe('wasm', n, clips);
    const cpu = await probe('cpu', ctx.quick ? 6 : 30, clips);
    ctx.log(
      `vision: ${wasm.frames} frames on ${wasm.backend}, ${cpu.frames} on ${cpu.backend} (${wasm.distinctFrames} distinct)`,
    );
    const mb = (b: number): number => Math.round((b / 1024 / 1024) * 100) / 100;
    const p50 = percentile(wasm.innerMs, 50);
    return [
      {
        case: 'frame-640x480',
        metric: 'p50',
        value: p50,
        unit: 'ms',
        baseline: percentile(cpu.innerMs, 50),
        baselineName: 'cpu back-end',
        target: '<= 40 ms',
        meetsTarget: p50 <= 40,
      },
      {
        case: 'frame-640x480',
        metric: 'p99',
        value: percentile(wasm.innerMs, 99),
        unit: 'ms',
        baseline: percentile(cpu.innerMs, 99),
        baselineName: 'cpu back-end',
      },
      {
        case: 'frame-640x480 via worker',
        metric: 'p50',
        value: percentile(wasm.roundTripMs, 50),
        unit: 'ms',
        baseline: percentile(cpu.roundTripMs, 50),
        baselineName: 'cpu back-end',
      },
      {
        case: 'model',
        metric: 'size',
        value: mb(wasm.modelBytes),
        unit: 'MB',
        target: '<= 5 MB',
        meetsTarget: wasm.modelBytes <= MODEL_SIZE_LIMIT_BYTES,
      },
      {
        case: 'worker',
        metric: 'rss added',
        value: mb(wasm.rssAfter - wasm.rssBefore),
        unit: 'MB',
        baseline: mb(cpu.rssAfter - cpu.rssBefore),
        baselineName: 'cpu back-end',
      },
      { case: 'worker', metric: 'process rss', value: mb(wasm.rssAfter), unit: 'MB' },
      { case: 'worker', metric: 'heap', value: mb(wasm.workerHeapBytes), unit: 'MB' },
    ];
  },
};
