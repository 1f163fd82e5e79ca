import { join } from 'node:path';
import { Registry } from 'prom-client';
import { buildDataFile } from '../../src/cache/build.js';
import { openListCache } from '../../src/cache/list-cache.js';
import { memoryLookups } from '../../src/cache/memory.js';
import type { Passage } from '../../src/passage/passage.js';
import { decide } from '../../src/policy/decide.js';
import type { Grant, Lookups, VehicleFacts, ZonePolicy } from '../../src/policy/types.js';
import { absentPlates, syntheticList } from '../../src/region/lists/synthetic.js';
import { seededRandom } from '../../src/shared/random.js';
import { ManualClock } from '../../src/shared/clock.js';
import { silentLogger } from '../../src/shared/log.js';
import { percentile, type BenchContext, type BenchRow, type BenchSuite } from './types.js';

const BENCH_POLICY: ZonePolicy = {
  zone: 'demo-centrum',
  municipality: '0363',
  lane: 'in-1',
  cameraOnly: false,
  minConfidence: 700,
  windows: [],
  staleList: { maxAgeMs: 48 * 3_600_000, action: 'keep-deciding' },
};

export function benchPassage(text: string): Passage {
  return {
    id: 'bench',
    lane: 'in-1',
    text,
    country: 'NL',
    confidence: 900,
    reads: 2,
    consistentReads: 2,
    alternatives: [],
    firstSeenAt: 0,
    lastSeenAt: 0,
    trigger: 'consistent-reads',
  };
}

/** Half listed plates, half unlisted, shuffled: a gateway sees both. */
function queryPlates(listed: readonly string[], count: number, seed: number): string[] {
  const rnd = seededRandom(seed);
  const out: string[] = [];
  const absent = absentPlates(Math.ceil(count / 2), seed);
  for (let i = 0; i < count; i++) {
    if (i % 2 === 0) out.push(listed[Math.floor(rnd() * listed.length)]!);
    else out.push(absent.next().value as string);
  }
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** Per-call microseconds of fn over the plates. */
export function timeCalls(plates: readonly string[], fn: (plate: string) => unknown): number[] {
  const us = new Array<number>(plates.length);
  for (let i = 0; i < plates.length; i++) {
    const t0 = process.hrtime.bigint();
    fn(plates[i]!);
    us[i] = Number(process.hrtime.bigint() - t0) / 1000;
  }
  return us;
}

/** timeCalls after a warm-up pass over other plates (JIT, statements), so the timed ones are fresh. */
function timeEach(warmUp: readonly string[], plates: readonly string[], fn: (plate: string) => unknown): number[] {
  for (const p of warmUp) fn(p);
  return timeCalls(plates, fn);
}

function decideRunner(lookups: Lookups, now: number): (plate: string) => unknown {
  return (plate) => decide(benchPassage(plate), now, lookups, BENCH_POLICY);
}

function lookupRunner(lookups: Lookups): (plate: string) => unknown {
  return (plate) => lookups.entry(plate, 'NL');
}

/**
 * decide() over the SQLite list cache with 1 million grants (and vehicle facts for the same plates),
 * against the same decide() over plain in-memory Maps holding the same rows, in the same run.
 */
export const decideSuite: BenchSuite = {
  name: 'decide',
  async run(ctx: BenchContext): Promise<BenchRow[]> {
    const plates = ctx.quick ? 50_000 : 1_000_000;
    const queries = ctx.quick ? 5_000 : 20_000;
    const label = ctx.quick ? '50k' : '1M';
    const now = Date.UTC(2026, 2, 2, 8, 0);
    const clock = new ManualClock(now);
    const file = join(ctx.workDir, 'lists.sqlite');
    const cache = openListCache(file, { clock, log: silentLogger, registry: new Registry() });
    const version = 1;
    const dataFile = cache.newDataFile(version);
    const t0 = Date.now();
    buildDataFile(dataFile, syntheticList({ plates, seed: 42 }), {
      version,
      publishedAt: now - 3_600_000,
      source: 'region',
      zone: 'demo-centrum',
    });
    cache.activate(dataFile);
    // As the gateway does: the list into the OS page cache and its presence filter built.
    await cache.prewarm();
    ctx.log(`built a cache of ${plates} grants and vehicles in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

    const listed: string[] = [];
    const grants: Grant[] = [];
    const vehicles: VehicleFacts[] = [];
    const pick = seededRandom(7);
    for (const e of syntheticList({ plates, seed: 42 })) {
      grants.push(...e.grants);
      if (e.vehicle) vehicles.push(e.vehicle);
      if (pick() < 0.05) listed.push(e.plate);
    }
    const map = memoryLookups({ grants, vehicles, version, publishedAt: now - 3_600_000 });
    const qs = queryPlates(listed, queries, 99);
    const warmUp = queryPlates(listed, queries, 299);

    const sqlDecide = timeEach(warmUp, qs, decideRunner(cache.lookups, now));
    const mapDecide = timeEach(warmUp, qs, decideRunner(map, now));
    // Other plates for the lookups: the decisions above left theirs in SQLite's page cache.
    const lookupQs = queryPlates(listed, queries, 199);
    const sqlLookup = timeEach(warmUp, lookupQs, lookupRunner(cache.lookups));
    const mapLookup = timeEach(warmUp, lookupQs, lookupRunner(map));
    cache.close();

    const rows: BenchRow[] = [];
    for (const [name, sql, base] of [
      [`decide-${label}`, sqlDecide, mapDecide],
      [`lookup-${label}`, sqlLookup, mapLookup],
    ] as const) {
      for (const p of [50, 99]) {
        rows.push({
          case: name,
          metric: `p${p}`,
          value: percentile(sql, p),
          unit: 'µs',
          baseline: percentile(base, p),
          baselineName: 'in-memory Map',
          ...(name.startsWith('decide') && p === 99
            ? { target: '<= 1000 µs (a decision within a millisecond)', meetsTarget: percentile(sql, p) <= 1000 }
            : {}),
        });
      }
    }
    return rows;
  },
};
