import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import type { MqttClient } from 'mqtt';
import type { Ingest } from '../../src/region/ingest.js';
import { ManualClock, systemClock } from '../../src/shared/clock.js';
import { batchSchema, type EventBatch } from '../../src/sync/messages.js';
import { storedKeys } from '../helpers/postgres.js';
import { regionTestBed, startIngest } from '../helpers/region-bed.js';
import { tempDir } from '../helpers/tmp.js';
import { rawClient, startTestGateway, waitFor, type TestGateway } from '../helpers/uplink.js';

const region = regionTestBed();
let dir: { path: string; remove: () => void };
const cleanups: (() => Promise<void> | void)[] = [];

beforeEach(() => {
  dir = tempDir('zg-uplink-');
});
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  dir.remove();
});

async function gateway(id: string, clock = systemClock, settings = {}): Promise<TestGateway> {
  const gw = await startTestGateway({ id, dir: dir.path, brokerUrl: region.broker.url, clock, settings });
  cleanups.push(() => gw.stop());
  return gw;
}

async function ingest(instance = 'a'): Promise<Ingest> {
  const i = await startIngest(region, `${instance}-${Math.random().toString(36).slice(2, 8)}`);
  cleanups.push(() => i.stop());
  return i;
}

async function watchBatches(gatewayId: string): Promise<{ batches: EventBatch[]; client: MqttClient }> {
  const client = await rawClient(region.broker.url);
  cleanups.push(() => client.endAsync());
  const batches: EventBatch[] = [];
  client.on('message', (_t, payload) => batches.push(batchSchema.parse(JSON.parse(payload.toString()))));
  await client.subscribeAsync(`zonegate/v1/gw/${gatewayId}/events`, { qos: 1 });
  return { batches, client };
}

const passage = (at: number, i: number) =>
  ({ type: 'passage', at, lane: 'in-1', payload: { passageId: `p${i}`, outcome: 'open', reason: 'grant' } }) as const;

describe('delivery', () => {
  test('every journaled event reaches PostgreSQL exactly once and leaves the backlog when acknowledged', async () => {
    await ingest();
    const gw = await gateway('gw-deliver-1');
    for (let i = 0; i < 1_200; i++) gw.journal.append(passage(Date.now(), i));
    await waitFor(() => gw.journal.stats().backlog === 0, 30_000, 'backlog to drain');
    const journaled = gw.journal.readFrom(0, { limit: 10_000 }).map((e) => `gw-deliver-1:${e.seq}`);
    const { keys, rows } = await storedKeys(region.db.pool);
    const mine = [...keys].filter((k) => k.startsWith('gw-deliver-1:'));
    expect(new Set(mine)).toEqual(new Set(journaled));
    expect(rows).toBe(keys.size);
    // The stored row is the journaled event.
    const sample = gw.journal.latest(1)[0]!;
    const { rows: r } = await region.db.pool.query(
      'SELECT id, type, lane, payload FROM zg_events WHERE gateway = $1 AND seq = $2',
      ['gw-deliver-1', sample.seq],
    );
    expect(r[0]).toEqual({ id: sample.id, type: 'passage', lane: 'in-1', payload: sample.payload });
  });

  test('batches are bounded by count, carry their seq range in order, and a partial batch waits for its age bound', async () => {
    const clock = new ManualClock();
    const { batches } = await watchBatches('gw-batch-1');
    const gw = await gateway('gw-batch-1', clock, {
      batchMaxEvents: 100,
      batchMaxAgeMs: 5_000,
      maxInFlight: 10,
      ackTimeoutMs: 600_000,
    });
    const created = gw.journal.lastSeq!; // journal-created entry
    for (let i = 0; i < 249; i++) gw.journal.append(passage(clock.now(), i));
    await waitFor(() => batches.length >= 2, 10_000, 'two full batches');
    expect(batches.map((b) => b.count)).toEqual([100, 100]);
    expect(batches[0]!.first).toBe(created);
    expect(batches[1]!.first).toBe(batches[0]!.last + 1);
    for (const b of batches)
      expect(b.events.map((e) => e.seq)).toEqual(Array.from({ length: b.count }, (_, i) => b.first + i));
    // The remaining 50 wait for the age bound of the injected clock.
    await new Promise((r) => setTimeout(r, 300));
    expect(batches).toHaveLength(2);
    clock.advance(5_000);
    await waitFor(() => batches.length === 3, 10_000, 'the aged partial batch');
    expect(batches[2]).toMatchObject({ first: batches[1]!.last + 1, count: 50, last: gw.journal.lastSeq });
  });

  test('batches are bounded by size: a large backlog goes out in batches under the byte limit', async () => {
    const { batches } = await watchBatches('gw-size-1');
    const gw = await gateway('gw-size-1', systemClock, {
      batchMaxBytes: 20_000,
      batchMaxEvents: 10_000,
      maxInFlight: 64,
    });
    for (let i = 0; i < 100; i++)
      gw.journal.append({ type: 'fault', at: Date.now(), payload: { pad: 'x'.repeat(1_000), i } });
    await waitFor(() => batches.reduce((n, b) => n + b.count, 0) >= 101, 10_000, 'all events');
    expect(batches.length).toBeGreaterThanOrEqual(5);
    for (const b of batches) expect(JSON.stringify(b.events).length).toBeLessThan(20_000 + 1_200);
  });

  test('without an acknowledgement the gateway keeps the events and sends them again from the oldest, in order', async () => {
    const clock = new ManualClock();
    const { batches, client } = await watchBatches('gw-resend-1');
    const gw = await gateway('gw-resend-1', clock, { batchMaxEvents: 10, batchMaxAgeMs: 0, ackTimeoutMs: 30_000 });
    for (let i = 0; i < 30; i++) gw.journal.append(passage(clock.now(), i));
    await waitFor(() => batches.length >= 4, 10_000, 'first round');
    const firstRound = batches.splice(0);
    expect(gw.journal.stats().backlog).toBe(31);
    clock.advance(30_000);
    await waitFor(() => batches.length >= 4, 10_000, 'resend');
    expect(batches.map((b) => b.first)).toEqual(firstRound.map((b) => b.first));
    // The region acknowledges: the backlog empties and nothing more is sent.
    for (const b of batches.slice(0, 4))
      await client.publishAsync(
        'zonegate/v1/gw/gw-resend-1/ack',
        JSON.stringify({ v: 1, gateway: 'gw-resend-1', ranges: [[b.first, b.last]], at: 0 }),
        { qos: 1 },
      );
    await waitFor(() => gw.journal.stats().backlog === 0, 10_000, 'acks to land');
  });

  test('an NTP step of the wall clock neither delays nor hastens a resend: the ack timeout runs on the steady clock', async () => {
    const clock = new ManualClock();
    const { batches } = await watchBatches('gw-resend-step');
    const gw = await gateway('gw-resend-step', clock, { batchMaxEvents: 10, batchMaxAgeMs: 0, ackTimeoutMs: 30_000 });
    for (let i = 0; i < 10; i++) gw.journal.append(passage(clock.now(), i));
    await waitFor(() => batches.length >= 1, 10_000, 'first send');
    batches.splice(0);
    // The clock is stepped back an hour (a Pi without RTC getting its time), then the timeout passes.
    clock.stepWall(-3_600_000);
    clock.advance(30_000);
    await waitFor(() => batches.length >= 1, 10_000, 'resend after the ack timeout');
    expect(gw.uplink.stats().resends).toBe(1);
    // A step forward by a day right after does not count as the timeout passing again.
    batches.splice(0);
    clock.stepWall(86_400_000);
    clock.advance(1_000);
    await new Promise((r) => setTimeout(r, 300));
    expect(gw.uplink.stats().resends).toBe(1);
  });

  test('a malformed or foreign acknowledgement is refused and counted, and acknowledges nothing', async () => {
    const { client } = await watchBatches('gw-badack-1');
    const gw = await gateway('gw-badack-1');
    gw.journal.append(passage(Date.now(), 1));
    const topic = 'zonegate/v1/gw/gw-badack-1/ack';
    await client.publishAsync(topic, 'not json', { qos: 1 });
    await client.publishAsync(topic, JSON.stringify({ v: 1, gateway: 'gw-other', ranges: [[0, 1e15]], at: 0 }), {
      qos: 1,
    });
    await client.publishAsync(topic, JSON.stringify({ v: 2, gateway: 'gw-badack-1', ranges: [[0, 1e15]], at: 0 }), {
      qos: 1,
    });
    const counted = async (): Promise<number> => {
      const m = (await gw.registry.getMetricsAsJSON()).find((x) => x.name === 'zonegate_uplink_bad_acks_total');
      return (m?.values ?? []).reduce((n, v) => n + Number(v.value), 0);
    };
    await waitFor(async () => (await counted()) === 3, 10_000, 'three refusals');
    expect(gw.journal.stats().backlog).toBe(2);
  });
});
