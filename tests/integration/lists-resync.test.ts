import { once } from 'node:events';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ListCache } from '../../src/cache/index.js';
import type { Journal } from '../../src/journal/types.js';
import type { ListSync } from '../../src/sync/lists-sync.js';
import { buildDelta } from '../../src/region/lists/publish.js';
import { buildListMessages } from '../../src/region/lists/publish-list.js';
import { createListServer, type ListServer } from '../../src/region/lists/server.js';
import { systemClock } from '../../src/shared/clock.js';
import { silentLogger } from '../../src/shared/log.js';
import { listTopics } from '../../src/sync/lists-wire.js';
import { spawnCli } from '../helpers/cli.js';
import { listSyncBed, nextListEvent } from '../helpers/lists-region.js';

const ZONE = 'demo-centrum';
const PREFIX = 'zonegate/v1';
const topics = listTopics(PREFIX, ZONE);

describe('a gateway that skipped a list version is answered by the region (real broker)', () => {
  const bed = listSyncBed('gw-resync-1');
  const registry = new Registry();
  let cache: ListCache;
  let journal: Journal;
  let sync: ListSync;
  let server: ListServer | undefined;

  const snapshot = (version: number, plates: number): Buffer[] => {
    const r = buildListMessages({
      zone: ZONE,
      version,
      publishedAt: Date.now(),
      signingKey: bed.keys.key,
      chunkRows: 200,
      list: { synthetic: { plates, seed: version } },
    });
    if ('problems' in r) throw new Error(r.problems.join('; '));
    return r.messages;
  };
  const metric = async (name: string, outcome?: string): Promise<number> => {
    const values = (await registry.getSingleMetric(name)?.get())?.values ?? [];
    return values
      .filter((v) => outcome === undefined || v.labels['outcome'] === outcome)
      .reduce((a, v) => a + v.value, 0);
  };
  const resync = (gatewayId: string, body: unknown): Promise<unknown> =>
    bed.region.publishAsync(
      listTopics(PREFIX, ZONE, gatewayId).resync,
      typeof body === 'string' ? body : JSON.stringify(body),
      {
        qos: 1,
      },
    );
  const request = (gatewayId: string, over: Record<string, unknown> = {}): Record<string, unknown> => ({
    v: 1,
    gateway: gatewayId,
    zone: ZONE,
    haveVersion: 1,
    regionVersion: 1,
    reason: 'version-gap',
    at: Date.now(),
    ...over,
  });

  beforeAll(async () => {
    ({ cache, journal, sync } = bed.gw!);
    // The gateway starts at version 1.
    const applied = nextListEvent(journal, (p) => p['event'] === 'applied' && p['version'] === 1);
    for (const m of snapshot(1, 300)) await bed.region.publishAsync(topics.snapshot, m, { qos: 1 });
    await applied;
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('a delta that skips a version makes the gateway ask, and the snapshot it gets back is applied', async () => {
    server = createListServer({
      mqtt: bed.region,
      clock: systemClock,
      log: silentLogger,
      registry,
      settings: {
        topicPrefix: PREFIX,
        zone: ZONE,
        version: 3,
        snapshot: snapshot(3, 400),
        minIntervalMs: 0,
        chunkIntervalMs: 0,
        publishAtStart: false,
      },
    });
    await server.start();
    const asked = nextListEvent(journal, (p) => p['event'] === 'resync-requested');
    const applied = nextListEvent(journal, (p) => p['event'] === 'applied' && p['version'] === 3);
    // Version 2 never reached this gateway: the delta from 2 to 3 does not fit onto its version 1.
    const delta = buildDelta(
      { upsertGrants: [], deleteGrants: [], upsertVehicles: [], deleteVehicles: [] },
      { zone: ZONE, version: 3, fromVersion: 2, publishedAt: Date.now() },
      bed.keys.key,
    );
    await bed.region.publishAsync(topics.delta, delta, { qos: 1 });
    expect((await asked).payload).toMatchObject({ reason: 'version-gap', haveVersion: 1 });
    expect((await applied).payload).toMatchObject({ kind: 'snapshot', version: 3 });
    expect(cache.info()).toMatchObject({ version: 3, source: 'region', grants: expect.any(Number) });
    expect(cache.info().vehicles).toBeGreaterThan(0);
    await server.idle();
    expect(await metric('zonegate_region_resync_requests_total', 'answered')).toBe(1);
    expect(await metric('zonegate_region_snapshots_published_total')).toBe(1);
  });

  it('bad, foreign and needless requests are counted and ignored; the server goes on answering', async () => {
    await resync('gw-x', 'not json at all');
    await resync('gw-x', { ...request('gw-x'), haveVersion: -1 });
    await resync('gw-x', request('gw-y'));
    await resync('gw-x', request('gw-x', { zone: 'other-zone' }));
    await resync('gw-x', request('gw-x', { regionVersion: 3 }));
    // Delivered in the order published: this one comes last.
    await resync('gw-2', request('gw-2'));
    const started = Date.now();
    while ((await metric('zonegate_region_resync_requests_total')) < 7 && Date.now() - started < 10_000)
      await new Promise((r) => setTimeout(r, 50));
    expect(await metric('zonegate_region_resync_requests_total', 'invalid')).toBe(3);
    expect(await metric('zonegate_region_resync_requests_total', 'other-zone')).toBe(1);
    expect(await metric('zonegate_region_resync_requests_total', 'up-to-date')).toBe(1);
    expect(await metric('zonegate_region_resync_requests_total', 'answered')).toBe(2);
    await server!.idle();
    expect(await metric('zonegate_region_snapshots_published_total')).toBe(2);
  });

  it('requests that arrive before a publication starts share it, one per interval', async () => {
    await server!.stop();
    const r = new Registry();
    server = createListServer({
      mqtt: bed.region,
      clock: systemClock,
      log: silentLogger,
      registry: r,
      settings: {
        topicPrefix: PREFIX,
        zone: ZONE,
        version: 3,
        snapshot: snapshot(3, 400),
        minIntervalMs: 60_000,
        chunkIntervalMs: 0,
        publishAtStart: true,
      },
    });
    await server.start();
    await server.idle();
    // Within a minute of that publication: the first request is owed one (a minute on), the rest share it.
    for (const g of ['gw-a', 'gw-b', 'gw-c']) await resync(g, request(g));
    const count = async (outcome: string): Promise<number> =>
      (await r.getSingleMetric('zonegate_region_resync_requests_total')?.get())?.values.find(
        (v) => v.labels['outcome'] === outcome,
      )?.value ?? 0;
    const started = Date.now();
    while ((await count('answered')) + (await count('coalesced')) < 3 && Date.now() - started < 10_000)
      await new Promise((res) => setTimeout(res, 50));
    expect(await count('answered')).toBe(1);
    expect(await count('coalesced')).toBe(2);
    expect((await r.getSingleMetric('zonegate_region_snapshots_published_total')?.get())?.values[0]?.value).toBe(1);
    await server.stop();
    server = undefined;
  });

  it('zonegate region serve-lists answers a resync request until SIGTERM', async () => {
    const child = spawnCli([
      'region',
      'serve-lists',
      '--zone',
      ZONE,
      '--list-version',
      '5',
      '--signing-key',
      bed.keys.privateFile,
      '--synthetic',
      '300',
      '--min-interval-ms',
      '0',
      '--mqtt',
      bed.broker.url,
    ]);
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const started = Date.now();
    while (!stderr.includes('answering') && Date.now() - started < 30_000) await new Promise((r) => setTimeout(r, 100));
    expect(stderr).toContain(`snapshot v5 of zone ${ZONE}`);
    const applied = nextListEvent(journal, (p) => p['event'] === 'applied' && p['version'] === 5);
    sync.requestResync('test');
    expect((await applied).payload).toMatchObject({ kind: 'snapshot', version: 5 });
    child.kill('SIGTERM');
    const [code] = (await once(child, 'close')) as [number | null];
    expect(code, stderr).toBe(0);
  });
});
