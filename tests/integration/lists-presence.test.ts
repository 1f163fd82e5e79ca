import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { buildDataFile } from '../../src/cache/build.js';
import { applyChange, openListCache, PRESENCE_LOG_CHANGES, type ListCache } from '../../src/cache/list-cache.js';
import { grantToRecord, openDataFile, vehicleToRecord } from '../../src/cache/store.js';
import type { Passage } from '../../src/passage/passage.js';
import { correctionCandidates } from '../../src/plate/confusions.js';
import { decide } from '../../src/policy/decide.js';
import type { Grant, VehicleFacts, ZonePolicy } from '../../src/policy/types.js';
import { loadZeRules } from '../../src/policy/ze-rules.js';
import { absentPlates, syntheticList, syntheticPlates } from '../../src/region/lists/synthetic.js';
import { ManualClock } from '../../src/shared/clock.js';
import { silentLogger } from '../../src/shared/log.js';
import { seededRandom } from '../../src/shared/random.js';
import { applyDeltaToFile } from '../../src/sync/lists-apply.js';
import type { ListDelta } from '../../src/sync/lists-wire.js';
import { tempDir } from '../helpers/tmp.js';

const NOW = Date.UTC(2026, 2, 2, 8, 0);
const PLATES = 3_000;

const BOLLARD: ZonePolicy = {
  zone: 'demo-centrum',
  municipality: '0363',
  lane: 'in-1',
  cameraOnly: false,
  minConfidence: 700,
  windows: [],
  staleList: { maxAgeMs: 48 * 3_600_000, action: 'keep-deciding' },
};
const ZE: ZonePolicy = { ...BOLLARD, cameraOnly: true, zeroEmission: loadZeRules('ze-nl-2025') };

function passage(text: string): Passage {
  return {
    id: 't',
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

function grant(plate: string, id = 'g1'): Grant {
  return {
    id,
    plate,
    country: 'NL',
    scope: { type: 'zone', zone: 'demo-centrum' },
    kind: 'resident',
    validFrom: 0,
    windows: [],
    listVersion: 0,
  };
}

function vehicle(plate: string): VehicleFacts {
  return { plate, country: 'NL', category: 'N1', fuels: ['elektriciteit'], bodyCodes: [], listVersion: 0 };
}

/** Listed plates, unlisted ones, and OCR confusions of listed ones (corrections that the cache knows). */
function queryPlates(seed: number): string[] {
  const rnd = seededRandom(seed);
  const listed = [...syntheticPlates(PLATES, 42)];
  const out: string[] = [];
  for (let i = 0; i < 1_500; i++) out.push(listed[Math.floor(rnd() * listed.length)]!);
  for (const p of absentPlates(1_500, seed)) out.push(p);
  for (let i = 0; i < 1_000; i++) {
    const p = listed[Math.floor(rnd() * listed.length)]!;
    const c = correctionCandidates(p);
    if (c.length > 0) out.push(c[Math.floor(rnd() * c.length)]!);
  }
  return out;
}

async function gaugeValue(r: Registry, name: string): Promise<number> {
  const m = r.getSingleMetric(name);
  return (await m!.get()).values[0]?.value ?? Number.NaN;
}

const filterOn = (r: Registry): Promise<number> => gaugeValue(r, 'zonegate_list_presence_filter');

describe('the list presence filter (real SQLite files)', () => {
  const tmp = tempDir('zg-presence-');
  afterAll(() => tmp.remove());
  const open: ListCache[] = [];
  afterEach(() => {
    for (const c of open.splice(0)) c.close();
  });
  let n = 0;

  /** A catalog with a synthetic list of PLATES plates active, and a cache on it with the filter built. */
  async function setup(): Promise<{ file: string; cache: ListCache; registry: Registry; plain: () => ListCache }> {
    const file = join(tmp.path, `lists-${n++}.sqlite`);
    const clock = new ManualClock(NOW);
    const registry = new Registry();
    const cache = openListCache(file, { clock, log: silentLogger, registry });
    open.push(cache);
    const data = cache.newDataFile(1);
    buildDataFile(data, syntheticList({ plates: PLATES, seed: 42 }), {
      version: 1,
      publishedAt: NOW - 3_600_000,
      source: 'region',
      zone: 'demo-centrum',
    });
    cache.activate(data, 1);
    expect(await filterOn(registry)).toBe(0);
    await cache.prewarm();
    expect(await filterOn(registry)).toBe(1);
    /** Another cache on the same catalog, without a filter: the reference. */
    const plain = (): ListCache => {
      const c = openListCache(file, { clock, log: silentLogger, registry: new Registry() }, { cleanup: false });
      open.push(c);
      return c;
    };
    return { file, cache, registry, plain };
  }

  function expectSameAnswers(withFilter: ListCache, without: ListCache, plates: readonly string[]): void {
    for (const p of plates) {
      for (const policy of [BOLLARD, ZE])
        expect(decide(passage(p), NOW, withFilter.lookups, policy)).toEqual(
          decide(passage(p), NOW, without.lookups, policy),
        );
      expect(withFilter.lookups.entry(p, 'NL').grants).toEqual(without.lookups.entry(p, 'NL').grants);
      expect(withFilter.lookups.entry(p, 'NL').vehicle).toEqual(without.lookups.entry(p, 'NL').vehicle);
      const c = correctionCandidates(p);
      for (const v of [true, false])
        expect([...withFilter.lookups.listed(c, 'NL', v)].sort()).toEqual(
          [...without.lookups.listed(c, 'NL', v)].sort(),
        );
    }
  }

  it('gives the same lookups and decisions as plain SQLite over listed, unlisted and misread plates', async () => {
    const { cache, plain } = await setup();
    const qs = queryPlates(5);
    expect(qs.length).toBeGreaterThan(3_500);
    expectSameAnswers(cache, plain(), qs);
  });

  it('sees a delta applied by another connection at once, a plate the delta adds included', async () => {
    const { file, cache, registry, plain } = await setup();
    const added = '52HKV7';
    expect([...syntheticPlates(PLATES, 42)]).not.toContain(added);
    expect(cache.lookups.entry(added, 'NL').grants).toEqual([]);
    expect(decide(passage('S2HKV7'), NOW, cache.lookups, BOLLARD).outcome).toBe('deny');
    // As the list worker does: its own connection, one transaction, no call into this cache.
    const g = grant(added);
    const delta = {
      zone: 'demo-centrum',
      fromVersion: 1,
      version: 2,
      publishedAt: NOW,
      upsertGrants: [grantToRecord(g, 2).slice(0, 10)],
      deleteGrants: [],
      upsertVehicles: [vehicleToRecord(vehicle(added), 2).slice(0, 9)],
      deleteVehicles: [],
    } as unknown as ListDelta;
    applyDeltaToFile(cache.info().file, delta);
    // No refresh(): the very next lookup must see it.
    expect(cache.lookups.entry(added, 'NL').grants.map((x) => x.id)).toEqual(['g1']);
    expect(cache.lookups.entry(added, 'NL').vehicle?.category).toBe('N1');
    expect(cache.lookups.listed(['S2HKV7', added], 'NL', false)).toEqual([added]);
    const d = decide(passage('S2HKV7'), NOW, cache.lookups, BOLLARD);
    expect(d).toMatchObject({ outcome: 'open', plate: added, corrected: true, listVersion: 2 });
    expect(await filterOn(registry)).toBe(1);
    // And the rest of the list still answers as without the filter.
    expectSameAnswers(cache, plain(), queryPlates(6).slice(0, 800));
    expect(file).toBeTruthy();
  });

  it('catches up with a change made during its build, and with its own applyInPlace', async () => {
    const file = join(tmp.path, `lists-${n++}.sqlite`);
    const registry = new Registry();
    const cache = openListCache(file, { clock: new ManualClock(NOW), log: silentLogger, registry });
    open.push(cache);
    const data = cache.newDataFile(1);
    buildDataFile(data, syntheticList({ plates: PLATES, seed: 42 }), { version: 1, source: 'region' });
    cache.activate(data, 1);
    const building = cache.prewarm();
    const other = openDataFile(cache.info().file);
    applyChange(other, { version: 2, source: 'region', upsertGrants: [grant('52HKV7')] });
    await building;
    applyChange(other, { version: 3, source: 'region', upsertVehicles: [vehicle('GV123B')] });
    other.close();
    cache.applyInPlace({ version: 4, source: 'import', upsertGrants: [grant('XR417N')] });
    expect(await filterOn(registry)).toBe(1);
    expect(cache.lookups.entry('52HKV7', 'NL').grants).toHaveLength(1);
    expect(cache.lookups.entry('GV123B', 'NL').vehicle).toBeDefined();
    expect(cache.lookups.entry('XR417N', 'NL').grants).toHaveLength(1);
    expect(cache.lookups.listed(['52HKV7', 'GV123B', 'XR417N'], 'NL', true).length).toBe(3);
  });

  it('a pruned log drops the filter (lookups stay right) and it is rebuilt', async () => {
    const { file, cache, registry, plain } = await setup();
    const other = openDataFile(cache.info().file);
    const added: string[] = [];
    const absent = absentPlates(PRESENCE_LOG_CHANGES + 20, 77);
    for (let i = 0; i < PRESENCE_LOG_CHANGES + 20; i++) {
      const p = absent.next().value as string;
      added.push(p);
      applyChange(other, { version: 2 + i, source: 'region', upsertGrants: [grant(p, `g${i}`)] });
    }
    other.close();
    // The first of them is no longer in the log: the filter cannot catch up and must not answer.
    expect(cache.lookups.entry(added[0]!, 'NL').grants).toHaveLength(1);
    cache.refresh();
    expect(await filterOn(registry)).toBe(0);
    for (const p of added) expect(cache.lookups.entry(p, 'NL').grants).toHaveLength(1);
    await cache.prewarm();
    expect(await filterOn(registry)).toBe(1);
    for (const p of added) expect(cache.lookups.listed([p], 'NL', false)).toEqual([p]);
    expectSameAnswers(cache, plain(), queryPlates(7).slice(0, 800));
    expect(file).toBeTruthy();
  });

  it('a change too big to log makes older filters rebuild', async () => {
    const { cache, registry } = await setup();
    const other = openDataFile(cache.info().file);
    const many = [...absentPlates(10_001, 99)].map(vehicle);
    applyChange(other, { version: 2, source: 'region', upsertVehicles: many });
    other.close();
    expect(cache.lookups.entry(many[10_000]!.plate, 'NL').vehicle).toBeDefined();
    cache.refresh();
    expect(await filterOn(registry)).toBe(0);
    await cache.prewarm();
    expect(await filterOn(registry)).toBe(1);
    for (const v of many) expect(cache.lookups.entry(v.plate, 'NL').vehicle).toBeDefined();
  });

  it('a snapshot activation drops the old filter and builds one for the new version', async () => {
    const { cache, registry, plain } = await setup();
    const data = cache.newDataFile(2);
    buildDataFile(data, syntheticList({ plates: 2_000, seed: 43 }), {
      version: 2,
      publishedAt: NOW - 60_000,
      source: 'region',
      zone: 'demo-centrum',
    });
    cache.activate(data, 2);
    expect(await filterOn(registry)).toBe(0);
    const fresh = [...syntheticPlates(2_000, 43)];
    const old = [...syntheticPlates(PLATES, 42)].filter((p) => !fresh.includes(p));
    for (const p of fresh.slice(0, 200)) expect(cache.lookups.entry(p, 'NL').grants.length).toBeGreaterThan(0);
    for (const p of old.slice(0, 200)) expect(cache.lookups.entry(p, 'NL').grants).toEqual([]);
    await cache.prewarm();
    expect(await filterOn(registry)).toBe(1);
    for (const p of fresh) expect(cache.lookups.listed([p], 'NL', true)).toEqual([p]);
    expectSameAnswers(cache, plain(), [...fresh.slice(0, 500), ...old.slice(0, 500), ...absentPlates(500, 3)]);
  });
});
