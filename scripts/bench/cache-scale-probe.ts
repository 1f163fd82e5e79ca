/**
 * One measurement of the cache-scale suite in a fresh process, so that its RSS is its own:
 *   sqlite FILE PLATES  — lookups and decide() on the list cache
 *   map PLATES          — the same on plain in-memory Maps (the baseline)
 *   apply FILE PLATES CHUNK_DIR — decide() on the main thread while the list worker builds a snapshot
 * Prints one JSON line.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Registry } from 'prom-client';
import { openListCache } from '../../src/cache/list-cache.js';
import { decide } from '../../src/policy/decide.js';
import type { Grant, Lookups, VehicleFacts, ZonePolicy } from '../../src/policy/types.js';
import { loadZeRules } from '../../src/policy/ze-rules.js';
import { absentPlates, syntheticList, syntheticPlates } from '../../src/region/lists/synthetic.js';
import { seededRandom } from '../../src/shared/random.js';
import { ManualClock } from '../../src/shared/clock.js';
import { silentLogger } from '../../src/shared/log.js';
import { startListWorker } from '../../src/sync/lists-sync.js';
import type { WorkerReply, WorkerRequest } from '../../src/sync/lists-worker.js';
import type { SnapshotManifest } from '../../src/sync/lists-wire.js';
import { benchPassage, timeCalls } from './decide.js';
import { percentile } from './types.js';

const [mode, a, b, c] = process.argv.slice(2) as [string, string, string?, string?];
const NOW = Date.UTC(2026, 2, 2, 8, 0);

const ZE_POLICY: ZonePolicy = {
  zone: 'demo-centrum',
  municipality: '0363',
  lane: 'in-1',
  cameraOnly: true,
  minConfidence: 700,
  windows: [],
  staleList: { maxAgeMs: 48 * 3_600_000, action: 'keep-deciding' },
  zeroEmission: loadZeRules('ze-nl-2025'),
};

/**
 * For each seed: half listed plates (picked from the whole list at random) and half unlisted ones,
 * shuffled. One walk over the synthetic list serves every seed.
 */
function querySets(plates: number, count: number, seeds: readonly number[]): string[][] {
  const rnds = seeds.map((seed) => seededRandom(seed));
  const wants = rnds.map((rnd) => {
    const want = new Set<number>();
    while (want.size < count / 2) want.add(Math.floor(rnd() * plates));
    return want;
  });
  const outs: string[][] = seeds.map(() => []);
  let i = 0;
  for (const p of syntheticPlates(plates, 42)) {
    for (let s = 0; s < seeds.length; s++) if (wants[s]!.has(i)) outs[s]!.push(p);
    i++;
  }
  return outs.map((out, s) => {
    for (const p of absentPlates(count - out.length, seeds[s]!)) out.push(p);
    const rnd = rnds[s]!;
    for (let k = out.length - 1; k > 0; k--) {
      const j = Math.floor(rnd() * (k + 1));
      [out[k], out[j]] = [out[j]!, out[k]!];
    }
    return out;
  });
}

function percentiles(us: number[]): { p50: number; p99: number; max: number } {
  return { p50: percentile(us, 50), p99: percentile(us, 99), max: percentile(us, 100) };
}

/** Median of the rounds' percentiles: one burst of load from other processes spoils one round, not the figure. */
function medianOf(rounds: { p50: number; p99: number; max: number }[]): { p50: number; p99: number; max: number } {
  const med = (xs: number[]): number => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
  return {
    p50: med(rounds.map((r) => r.p50)),
    p99: med(rounds.map((r) => r.p99)),
    max: Math.max(...rounds.map((r) => r.max)),
  };
}

const ROUNDS = 5;

/**
 * Share of `file` in the OS page cache (util-linux fincore), or undefined where it cannot tell. A list
 * the gateway prewarmed stays there on a gateway; on a virtual machine whose host reclaims cold page
 * cache (DAMON pageout, as on the development machine) part of it is read from disk again, and
 * the tail of the lookups measures that disk.
 */
function residentShare(file: string | undefined): number | undefined {
  if (file === undefined) return undefined;
  const r = spawnSync('fincore', ['--bytes', '--noheadings', '--output', 'RES', file], { encoding: 'utf8' });
  const bytes = Number(r.stdout.trim());
  return r.status === 0 && Number.isFinite(bytes) ? bytes / statSync(file).size : undefined;
}

interface QueryPlan {
  readonly warm: readonly string[];
  readonly lookups: readonly (readonly string[])[];
  readonly decisions: readonly (readonly string[])[];
}

/**
 * The plates of every round, drawn before the list is prewarmed and timing starts: fresh plates every
 * round, and others for decide() than for the lookups, so each finds its leaf pages outside SQLite's
 * own cache, not left there by the other measurement.
 */
function queryPlan(plates: number): QueryPlan {
  const rounds = Array.from({ length: ROUNDS }, (_, r) => r);
  const [warm, ...rest] = querySets(plates, 10_000, [7, ...rounds.map((r) => 11 + r), ...rounds.map((r) => 31 + r)]);
  return { warm: warm!.slice(0, 4_000), lookups: rest.slice(0, ROUNDS), decisions: rest.slice(ROUNDS) };
}

function measure(lookups: Lookups, plan: QueryPlan, file?: string): Record<string, unknown> {
  const lookup = (p: string): unknown => lookups.entry(p, 'NL');
  const dec = (p: string): unknown => decide(benchPassage(p), NOW, lookups, ZE_POLICY);
  timeCalls(plan.warm, lookup);
  timeCalls(plan.warm, dec);
  const l: ReturnType<typeof percentiles>[] = [];
  const d: ReturnType<typeof percentiles>[] = [];
  const resident: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    l.push(percentiles(timeCalls(plan.lookups[r]!, lookup)));
    d.push(percentiles(timeCalls(plan.decisions[r]!, dec)));
    const share = residentShare(file);
    if (share !== undefined) resident.push(share);
  }
  return {
    lookup: medianOf(l),
    decide: medianOf(d),
    rounds: ROUNDS,
    rssMB: process.memoryUsage().rss / 1048576,
    ...(resident.length ? { minResidentPct: Math.round(Math.min(...resident) * 1000) / 10 } : {}),
  };
}

const deps = { clock: new ManualClock(NOW), log: silentLogger, registry: new Registry() };

/** The lookup connection's page cache, as the site's lists.cacheMiB sets it. */
const cacheKiB = Number(process.env['ZONEGATE_LIST_CACHE_MIB'] ?? 16) * 1024;

if (mode === 'sqlite') {
  const plan = queryPlan(Number(b));
  const cache = openListCache(a, deps, { cleanup: false, cacheKiB });
  // As the gateway does on start and after each snapshot: the OS page cache holds the list, and the
  // presence filter (built in a child process) answers most misses before measuring starts.
  const t0 = Date.now();
  await cache.prewarm();
  const prewarmSeconds = (Date.now() - t0) / 1000;
  const gaugeOf = async (name: string): Promise<number | undefined> =>
    (await deps.registry.getSingleMetric(name)?.get())?.values[0]?.value;
  const presenceFilter = await gaugeOf('zonegate_list_presence_filter');
  const presenceMB = ((await gaugeOf('zonegate_list_presence_filter_bytes')) ?? 0) / 1048576;
  const r = { ...measure(cache.lookups, plan, cache.info().file), presenceFilter, presenceMB, prewarmSeconds };
  cache.close();
  process.stdout.write(`${JSON.stringify(r)}\n`);
} else if (mode === 'map') {
  // Plain Maps holding every key. V8 caps one Map at 2^24 entries, so keys are spread over several.
  // Values are shared objects: the baseline measures the lookup, not the memory of 20M objects.
  const plates = Number(a);
  const shards = Array.from({ length: 8 }, () => new Map<string, number>());
  const grantPool: Grant[][] = [];
  const vehiclePool: VehicleFacts[] = [];
  let i = 0;
  for (const e of syntheticList({ plates: Math.min(plates, 4_096), seed: 42 })) {
    grantPool.push([...e.grants]);
    vehiclePool.push(e.vehicle!);
  }
  const shardOf = (p: string): Map<string, number> => shards[p.charCodeAt(0) & 7]!;
  for (const p of syntheticPlates(plates, 42)) shardOf(p).set(p, i++ & 4_095);
  const lookups: Lookups = {
    entry: (p) => {
      const k = shardOf(p).get(p);
      return k === undefined ? { grants: [], vehicle: undefined } : { grants: grantPool[k]!, vehicle: vehiclePool[k] };
    },
    listed: (ps) => ps.filter((p) => shardOf(p).has(p)),
    listVersion: 1,
    listPublishedAt: NOW - 3_600_000,
  };
  process.stdout.write(`${JSON.stringify(measure(lookups, queryPlan(plates)))}\n`);
} else if (mode === 'apply') {
  const cache = openListCache(a, deps, { cleanup: false, cacheKiB });
  const plates = Number(b);
  const dir = c!;
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as SnapshotManifest;
  const worker = startListWorker();
  const [timed] = querySets(plates, 20_000, [13]) as [string[]];
  const loop = monitorEventLoopDelay({ resolution: 1 });
  const us: number[] = [];
  let done = false;
  let next = 0;
  let inFlight = 0;
  const t0 = Date.now();
  const send = (): void => {
    while (inFlight < 2 && next < manifest.chunks.length) {
      const body = readFileSync(join(dir, `chunk-${next}.bin`));
      const msg: WorkerRequest = { op: 'chunk', id: 1, index: next++, body };
      worker.postMessage(msg);
      inFlight++;
    }
    if (next === manifest.chunks.length && inFlight === 0)
      worker.postMessage({ op: 'finish', id: 1 } satisfies WorkerRequest);
  };
  const finished = new Promise<void>((resolve, reject) => {
    worker.on('message', (m: WorkerReply) => {
      if (m.op === 'chunk-done') {
        inFlight--;
        send();
      } else if (m.op === 'built') resolve();
      else if (m.op === 'failed') reject(new Error(`${m.reason}: ${m.detail}`));
    });
  });
  worker.postMessage({
    op: 'begin',
    id: 1,
    file: cache.newDataFile(manifest.version),
    manifest,
    manifestHash: 'bench',
  } satisfies WorkerRequest);
  send();
  loop.enable();
  // Decide continuously (a passage every 2 ms) on the main thread while the worker loads.
  const deciding = (async () => {
    let k = 0;
    while (!done) {
      const p = timed[k++ % timed.length]!;
      const s = process.hrtime.bigint();
      decide(benchPassage(p), NOW, cache.lookups, ZE_POLICY);
      us.push(Number(process.hrtime.bigint() - s) / 1000);
      await new Promise((r) => setTimeout(r, 2));
    }
  })();
  await finished;
  done = true;
  await deciding;
  loop.disable();
  await worker.terminate();
  process.stdout.write(
    `${JSON.stringify({
      decide: percentiles(us),
      decisions: us.length,
      applySeconds: (Date.now() - t0) / 1000,
      rows: manifest.grants + manifest.vehicles,
      eventLoopDelayP99Ms: loop.percentile(99) / 1e6,
      rssMB: process.memoryUsage().rss / 1048576,
    })}\n`,
  );
  cache.close();
}
