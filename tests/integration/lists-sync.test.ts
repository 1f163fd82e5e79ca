import mqtt, { type MqttClient } from 'mqtt';
import { DateTime } from 'luxon';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openListCache, parseListCsv, type ListCache } from '../../src/cache/index.js';
import { Registry } from 'prom-client';
import { systemClock } from '../../src/shared/clock.js';
import { silentLogger } from '../../src/shared/log.js';
import type { Journal } from '../../src/journal/types.js';
import { decide } from '../../src/policy/decide.js';
import type { Grant, VehicleFacts, ZonePolicy } from '../../src/policy/types.js';
import { buildDelta, buildSnapshot, diffLists, entryRows, orderedRows } from '../../src/region/lists/publish.js';
import { syntheticList } from '../../src/region/lists/synthetic.js';
import type { ListSync } from '../../src/sync/lists-sync.js';
import { frame, listTopics, unframe } from '../../src/sync/lists-wire.js';
import { repoRoot } from '../helpers/cli.js';
import {
  listSyncBed,
  nextListEvent,
  regionKeyFiles,
  startGatewayLists,
  type GatewayLists,
} from '../helpers/lists-region.js';
import { startMosquitto, type MosquittoInstance } from '../helpers/mosquitto.js';
import { tempDir } from '../helpers/tmp.js';

const ZONE = 'demo-centrum';
const PREFIX = 'zonegate/v1';
const topics = listTopics(PREFIX, ZONE, 'gw-lists-1');
const demo = parseListCsv(readFileSync(join(repoRoot, 'firmware-config/demo/grants.csv'), 'utf8'));
const DEMO_GRANTS = demo.kind === 'grants' ? demo.grants : [];
const policy: ZonePolicy = {
  zone: ZONE,
  municipality: '0363',
  lane: 'in-1',
  cameraOnly: false,
  minConfidence: 700,
  windows: [],
  staleList: { maxAgeMs: 48 * 3_600_000, action: 'keep-deciding' },
};
const passage = (text: string) => ({
  id: 'p',
  lane: 'in-1',
  text,
  country: 'NL',
  confidence: 900,
  reads: 2,
  consistentReads: 2,
  alternatives: [],
  firstSeenAt: 0,
  lastSeenAt: 0,
  trigger: 'consistent-reads' as const,
});
const MONDAY_9 = DateTime.fromISO('2026-03-02T09:00', { zone: 'Europe/Amsterdam' }).toMillis();

describe('list sync over MQTT (real Mosquitto, SQLite on disk, worker thread)', () => {
  const tmp = tempDir();
  let broker: MosquittoInstance;
  let region: MqttClient;
  let gw: GatewayLists | undefined;
  let cache: ListCache;
  let journal: Journal;
  let sync: ListSync;
  const keys = regionKeyFiles(tmp.path);
  const rogue = regionKeyFiles(tmp.path, 'rogue');
  const resyncs: Record<string, unknown>[] = [];
  const meta = (version: number) => ({ zone: ZONE, version, publishedAt: Date.now() });
  const publish = async (topic: string, messages: Buffer[]): Promise<void> => {
    for (const m of messages) await region.publishAsync(topic, m, { qos: 1 });
  };

  beforeAll(async () => {
    broker = await startMosquitto();
    region = await mqtt.connectAsync(broker.url, { clientId: 'region-test' });
    await region.subscribeAsync(listTopics(PREFIX, ZONE).resync, { qos: 1 });
    region.on('message', (_t, p) => resyncs.push(JSON.parse(p.toString()) as Record<string, unknown>));
    gw = await startGatewayLists({
      brokerUrl: broker.url,
      dir: tmp.path,
      gatewayId: 'gw-lists-1',
      publicKeyFile: keys.publicFile,
      staleAfterMs: 48 * 3_600_000,
    });
    ({ cache, journal, sync } = gw);
  });

  afterAll(async () => {
    await gw?.close();
    await region?.endAsync();
    await broker?.dispose();
    tmp.remove();
  });

  // 8 demo grants + 12,000 synthetic plates with grants and vehicle facts: 24,008 rows in 13 chunks.
  const synthetic = [...syntheticList({ plates: 12_000, seed: 5, zone: 'other-zone' })];
  const SNAPSHOT_GRANTS: Grant[] = [...DEMO_GRANTS, ...synthetic.flatMap((e) => e.grants)];
  const SNAPSHOT_VEHICLES: VehicleFacts[] = synthetic.map((e) => e.vehicle!);

  it('a gateway without a list from the region asks for a snapshot when it starts', async () => {
    await expect
      .poll(() => resyncs.find((r) => r['reason'] === 'no-region-list'), { timeout: 5_000 })
      .toMatchObject({
        v: 1,
        gateway: 'gw-lists-1',
        zone: ZONE,
        haveVersion: 0,
        regionVersion: 0,
      });
  });

  it('a signed snapshot is built beside the old list and switched to atomically while decisions go on', async () => {
    expect(cache.info().version).toBe(0);
    const snap = buildSnapshot(
      orderedRows({ grants: SNAPSHOT_GRANTS, vehicles: SNAPSHOT_VEHICLES }),
      meta(5),
      keys.key,
      2_000,
    );
    expect(snap.messages.length).toBe(14);
    const applied = nextListEvent(journal, (p) => p['event'] === 'applied' && p['version'] === 5);
    const seen = new Set<number>();
    let decisions = 0;
    let done = false;
    void applied.then(() => (done = true));
    // Decide continuously on the main thread while the worker builds the new version.
    const deciding = (async () => {
      while (!done) {
        const d = decide(passage('K285TX'), MONDAY_9, cache.lookups, policy);
        seen.add(d.listVersion);
        expect(d.outcome).toBe(d.listVersion === 5 ? 'open' : 'deny');
        decisions++;
        await new Promise((r) => setImmediate(r));
      }
    })();
    await publish(topics.snapshot, snap.messages);
    const entry = await applied;
    await deciding;
    expect(entry.payload).toMatchObject({
      kind: 'snapshot',
      grants: SNAPSHOT_GRANTS.length,
      vehicles: SNAPSHOT_VEHICLES.length,
    });
    expect(seen.has(0)).toBe(true);
    expect(decisions).toBeGreaterThan(10);
    expect(cache.info()).toMatchObject({ version: 5, source: 'region', grants: 12_008, vehicles: 12_000 });
    expect(decide(passage('K285TX'), MONDAY_9, cache.lookups, policy)).toMatchObject({
      outcome: 'open',
      listVersion: 5,
    });
    expect(sync.status()).toMatchObject({ version: 5, regionVersion: 5, stale: false });
  });

  it('a delta adds and removes grants in one step and the next passage sees it', async () => {
    const to = {
      grants: [
        ...SNAPSHOT_GRANTS.filter((g) => g.plate !== 'K285TX'),
        { ...DEMO_GRANTS[0]!, plate: 'HX771L', id: 'new-resident' },
      ],
      vehicles: SNAPSHOT_VEHICLES,
    };
    const applied = nextListEvent(journal, (p) => p['event'] === 'applied' && p['version'] === 6);
    await publish(topics.delta, [
      buildDelta(
        diffLists({ grants: SNAPSHOT_GRANTS, vehicles: SNAPSHOT_VEHICLES }, to),
        { ...meta(6), fromVersion: 5 },
        keys.key,
      ),
    ]);
    expect((await applied).payload).toMatchObject({ kind: 'delta', fromVersion: 5, changes: 2 });
    expect(decide(passage('HX771L'), MONDAY_9, cache.lookups, policy)).toMatchObject({
      outcome: 'open',
      listVersion: 6,
    });
    expect(decide(passage('K285TX'), MONDAY_9, cache.lookups, policy)).toMatchObject({
      outcome: 'deny',
      reason: 'no-grant',
    });
  });

  it('a replayed delta is refused and journaled; the list stays as it was', async () => {
    const replay = buildDelta(
      { upsertGrants: [], deleteGrants: [], upsertVehicles: [], deleteVehicles: [] },
      { ...meta(6), fromVersion: 5 },
      keys.key,
    );
    const rejected = nextListEvent(journal, (p) => p['event'] === 'rejected' && p['reason'] === 'replayed');
    await publish(topics.delta, [replay]);
    expect((await rejected).payload).toMatchObject({ kind: 'delta', version: 6 });
    expect(cache.info().version).toBe(6);
  });

  it('an older snapshot is refused', async () => {
    const old = buildSnapshot(orderedRows({ grants: DEMO_GRANTS, vehicles: [] }), meta(4), keys.key);
    const rejected = nextListEvent(journal, (p) => p['event'] === 'rejected' && p['reason'] === 'older');
    await publish(topics.snapshot, old.messages);
    expect((await rejected).payload).toMatchObject({ kind: 'snapshot', version: 4 });
    expect(cache.info()).toMatchObject({ version: 6, grants: 12_008 });
  });

  it('an update signed with a key the gateway does not trust is refused', async () => {
    const forged = buildDelta(
      { upsertGrants: [], deleteGrants: [], upsertVehicles: [], deleteVehicles: [] },
      { ...meta(7), fromVersion: 6 },
      rogue.key,
    );
    const rejected = nextListEvent(journal, (p) => p['event'] === 'rejected' && p['reason'] === 'unknown-key');
    await publish(topics.delta, [forged]);
    await rejected;
    expect(cache.info().version).toBe(6);
  });

  it('a delta whose body was changed after signing is refused', async () => {
    const good = buildDelta(
      { upsertGrants: [], deleteGrants: [], upsertVehicles: [], deleteVehicles: [] },
      { ...meta(7), fromVersion: 6 },
      keys.key,
    );
    const f = unframe(good) as { header: object; body: Buffer };
    const tampered = frame(f.header, Buffer.from(f.body.toString().replace('"version":7', '"version":70')));
    const rejected = nextListEvent(journal, (p) => p['event'] === 'rejected' && p['reason'] === 'bad-signature');
    await publish(topics.delta, [tampered]);
    await rejected;
    expect(cache.info().version).toBe(6);
  });

  it('a signed update for another zone is refused', async () => {
    const other = buildDelta(
      { upsertGrants: [], deleteGrants: [], upsertVehicles: [], deleteVehicles: [] },
      { zone: 'ams-autoluw-centrum', version: 7, publishedAt: Date.now(), fromVersion: 6 },
      keys.key,
    );
    // Published on this zone's topic: the signed zone inside decides, not the topic.
    const rejected = nextListEvent(journal, (p) => p['event'] === 'rejected' && p['reason'] === 'wrong-zone');
    await publish(topics.delta, [other]);
    await rejected;
    expect(cache.info().version).toBe(6);
  });

  it('a delta that skips a version is refused and the gateway asks the region for a snapshot', async () => {
    const skipping = buildDelta(
      { upsertGrants: [], deleteGrants: [], upsertVehicles: [], deleteVehicles: [] },
      { ...meta(8), fromVersion: 7 },
      keys.key,
    );
    const rejected = nextListEvent(journal, (p) => p['event'] === 'rejected' && p['reason'] === 'version-gap');
    const requested = nextListEvent(journal, (p) => p['event'] === 'resync-requested');
    await publish(topics.delta, [skipping]);
    await rejected;
    await requested;
    await expect
      .poll(() => resyncs.find((r) => r['reason'] === 'version-gap'), { timeout: 5_000 })
      .toMatchObject({
        gateway: 'gw-lists-1',
        zone: ZONE,
        haveVersion: 6,
        regionVersion: 6,
      });
    expect(cache.info().version).toBe(6);
  });

  it('a snapshot with a chunk that does not match its signed hash is refused and the old list stays', async () => {
    const snap = buildSnapshot(entryRows(syntheticList({ plates: 3_000, seed: 9 })), meta(9), keys.key, 1_000);
    const f = unframe(snap.messages[2]!) as { header: Record<string, unknown>; body: Buffer };
    const body = Buffer.from(f.body);
    body[body.length - 9] = body[body.length - 9]! ^ 0xff;
    snap.messages[2] = frame(f.header, body);
    const rejected = nextListEvent(journal, (p) => p['event'] === 'rejected' && p['reason'] === 'chunk-hash');
    await publish(topics.snapshot, snap.messages);
    expect((await rejected).payload).toMatchObject({ kind: 'snapshot', version: 9 });
    expect(cache.info()).toMatchObject({ version: 6, grants: 12_008 });
    expect(sync.status().applying).toBeUndefined();
    expect(decide(passage('HX771L'), MONDAY_9, cache.lookups, policy).outcome).toBe('open');
  });

  it('garbage on the list topics is refused, counted and journaled without stopping the sync', async () => {
    const rejected = nextListEvent(journal, (p) => p['event'] === 'rejected' && p['reason'] === 'bad-frame');
    await region.publishAsync(topics.delta, Buffer.from('not a list update'), { qos: 1 });
    expect((await rejected).payload).toMatchObject({ kind: 'delta' });
    const applied = nextListEvent(journal, (p) => p['event'] === 'applied' && p['version'] === 7);
    await publish(topics.delta, [
      buildDelta(
        { upsertGrants: [], deleteGrants: [], upsertVehicles: [], deleteVehicles: [] },
        { ...meta(7), fromVersion: 6 },
        keys.key,
      ),
    ]);
    await applied;
    expect(cache.info().version).toBe(7);
  });

  it('a snapshot overtaken by a delta applied during its build is not switched to: the newer list stays', async () => {
    // Delta 7→9 (large, so the worker is still applying it) and, right behind it, snapshot 8: the
    // manifest is accepted while the gateway is still at 7, the delta then takes the list to 9.
    const before = { grants: SNAPSHOT_GRANTS, vehicles: SNAPSHOT_VEHICLES };
    const listed = new Set(SNAPSHOT_VEHICLES.map((v) => v.plate));
    const extra = [...syntheticList({ plates: 8_000, seed: 21, zone: 'other-zone' })]
      .map((e) => e.vehicle!)
      .filter((v) => !listed.has(v.plate));
    const to = {
      grants: [...SNAPSHOT_GRANTS, { ...DEMO_GRANTS[0]!, plate: 'GZ904T', id: 'delta-9' }],
      vehicles: [...SNAPSHOT_VEHICLES, ...extra],
    };
    const delta = buildDelta(diffLists(before, to), { ...meta(9), fromVersion: 7 }, keys.key);
    const older = buildSnapshot(orderedRows({ grants: DEMO_GRANTS, vehicles: [] }), meta(8), keys.key);
    const applied = nextListEvent(journal, (p) => p['event'] === 'applied' && p['version'] === 9);
    await Promise.all([
      region.publishAsync(topics.delta, delta, { qos: 1 }),
      ...older.messages.map((m) => region.publishAsync(topics.snapshot, m, { qos: 1 })),
    ]);
    await applied;
    await expect
      .poll(() => sync.status().lastRejection, { timeout: 20_000 })
      .toMatchObject({ reason: 'older', detail: expect.stringMatching(/^version 8,/) });
    expect(sync.status().applying).toBeUndefined();
    expect(cache.info()).toMatchObject({ version: 9, grants: 12_009, vehicles: 12_000 + extra.length });
    expect(decide(passage('GZ904T'), MONDAY_9, cache.lookups, policy)).toMatchObject({
      outcome: 'open',
      listVersion: 9,
    });
    await expect
      .poll(() => readdirSync(cache.dataDir).filter((f) => f.startsWith('v8-')), { timeout: 5_000 })
      .toEqual([]);
  });
});

describe('a snapshot whose chunks stop coming', () => {
  const bed = listSyncBed('gw-timeout', { snapshotTimeoutMs: 1_000 });

  it('is abandoned after the timeout: the old list stays, its scratch file goes, and a snapshot is asked for', async () => {
    const { cache, journal, sync } = bed.gw!;
    const snap = buildSnapshot(
      entryRows(syntheticList({ plates: 3_000, seed: 3 })),
      { zone: ZONE, version: 3, publishedAt: Date.now() },
      bed.keys.key,
      1_000,
    );
    expect(snap.messages).toHaveLength(7);
    const rejected = nextListEvent(journal, (p) => p['event'] === 'rejected' && p['reason'] === 'snapshot-timeout');
    const requested = nextListEvent(
      journal,
      (p) => p['event'] === 'resync-requested' && p['reason'] === 'snapshot-timeout',
    );
    for (const m of snap.messages.slice(0, 3))
      await bed.region.publishAsync(listTopics(PREFIX, ZONE).snapshot, m, { qos: 1 });
    await expect.poll(() => sync.status().applying, { timeout: 5_000 }).toMatchObject({ version: 3, chunks: 6 });
    expect((await rejected).payload).toMatchObject({ kind: 'snapshot', version: 3 });
    await requested;
    expect(cache.info()).toMatchObject({ version: 0, grants: 0 });
    expect(sync.status().applying).toBeUndefined();
    await expect
      .poll(() => readdirSync(cache.dataDir).filter((f) => f.startsWith('v3-')), { timeout: 5_000 })
      .toEqual([]);
  });
});

describe('a snapshot that arrives faster than the worker applies it', () => {
  // One byte of room: every chunk that arrives while one is waiting for the worker goes to disk.
  const bed = listSyncBed('gw-spool', { maxBufferedBytes: 1 });

  it('waits on disk beyond the memory bound, is applied whole, and leaves no spool behind', async () => {
    const { cache, journal, registry } = bed.gw!;
    const list = [...syntheticList({ plates: 4_000, seed: 8 })];
    const snap = buildSnapshot(entryRows(list), { zone: ZONE, version: 4, publishedAt: Date.now() }, bed.keys.key, 100);
    expect(snap.messages.length).toBeGreaterThan(60);
    const applied = nextListEvent(journal, (p) => p['event'] === 'applied' && p['version'] === 4);
    const spools: boolean[] = [];
    const watch = setInterval(() => spools.push(readdirSync(cache.dataDir).some((f) => f.endsWith('.chunks'))), 5);
    // As fast as the broker takes them.
    await Promise.all(
      snap.messages.map((m) => bed.region.publishAsync(listTopics(PREFIX, ZONE).snapshot, m, { qos: 1 })),
    );
    const done = await applied;
    clearInterval(watch);
    expect(done.payload).toMatchObject({
      kind: 'snapshot',
      grants: snap.manifest.grants,
      vehicles: snap.manifest.vehicles,
    });
    const metric = async (name: string): Promise<number | undefined> =>
      (await registry.getSingleMetric(name)?.get())?.values[0]?.value;
    expect(await metric('zonegate_list_snapshot_chunks_spooled_total')).toBeGreaterThan(0);
    expect(spools).toContain(true);
    expect(await metric('zonegate_list_snapshot_buffered_bytes')).toBe(0);
    // Removed off the main thread, right after the build.
    await expect
      .poll(() => readdirSync(cache.dataDir).filter((f) => f.endsWith('.chunks')), { timeout: 5_000 })
      .toEqual([]);
    for (const e of list.slice(0, 50)) {
      const entry = cache.lookups.entry(e.vehicle!.plate, e.vehicle!.country);
      expect(entry.grants.map((g) => g.id).sort()).toEqual(e.grants.map((g) => g.id).sort());
      expect(entry.vehicle?.category).toBe(e.vehicle!.category);
    }
  });

  it('a spool left by a killed gateway is removed at the next start', async () => {
    const dataDir = bed.gw!.cache.dataDir;
    await bed.gw!.close();
    bed.gw = undefined;
    const stray = join(dataDir, 'v77-0badc0de.sqlite.chunks');
    mkdirSync(stray);
    writeFileSync(join(stray, '0000001.chunk'), 'left over');
    const cache = openListCache(join(bed.tmp.path, 'lists.sqlite'), {
      clock: systemClock,
      log: silentLogger,
      registry: new Registry(),
    });
    try {
      expect(existsSync(stray)).toBe(false);
      expect(cache.info().version).toBe(4);
    } finally {
      cache.close();
    }
  });
});

describe('a snapshot whose chunks all arrived but are still being applied', () => {
  // Far longer than one chunk takes, far shorter than the whole backlog.
  const bed = listSyncBed('gw-backlog', { snapshotTimeoutMs: 500 });

  it('is not timed out while the worker makes progress', async () => {
    const { journal, cache } = bed.gw!;
    const snap = buildSnapshot(
      entryRows(syntheticList({ plates: 120_000, seed: 9 })),
      { zone: ZONE, version: 2, publishedAt: Date.now() },
      bed.keys.key,
      500,
    );
    const outcome = nextListEvent(
      journal,
      (p) => (p['event'] === 'applied' && p['version'] === 2) || p['event'] === 'rejected',
      60_000,
    );
    const sent = Date.now();
    await Promise.all(
      snap.messages.map((m) => bed.region.publishAsync(listTopics(PREFIX, ZONE).snapshot, m, { qos: 1 })),
    );
    const published = Date.now();
    expect((await outcome).payload).toMatchObject({ event: 'applied', kind: 'snapshot', version: 2 });
    // The point of the test: the last chunk arrived well over a timeout before the list was complete.
    console.log(
      `${snap.messages.length - 1} chunks published in ${published - sent} ms, applied ${Date.now() - published} ms later`,
    );
    expect(cache.info()).toMatchObject({ version: 2, grants: snap.manifest.grants });
  });
});
