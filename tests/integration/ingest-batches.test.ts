import { afterAll, beforeAll, expect, test } from 'vitest';
import type { MqttClient } from 'mqtt';
import pg from 'pg';
import type { Ingest } from '../../src/region/ingest.js';
import { Registry } from '../../src/shared/metrics.js';
import { ackSchema, type AckMessage } from '../../src/sync/messages.js';
import { runCli } from '../helpers/cli.js';
import { storedKeys } from '../helpers/postgres.js';
import { regionTestBed, startIngest } from '../helpers/region-bed.js';
import { rawClient, waitFor } from '../helpers/uplink.js';

const region = regionTestBed();
let ingest: Ingest;
let gw: MqttClient;
const registry = new Registry();
const acks: AckMessage[] = [];

beforeAll(async () => {
  ingest = await startIngest(region, 'ingest-test', registry);
  gw = await rawClient(region.broker.url);
  gw.on('message', (_t, p) => acks.push(ackSchema.parse(JSON.parse(p.toString()))));
  await gw.subscribeAsync('zonegate/v1/gw/+/ack', { qos: 1 });
});
afterAll(async () => {
  await gw.endAsync();
  await ingest.stop();
});

const ID = '019cad3e-8f00-7a1b-9c2d-3e4f5a6b7c8d';
function batch(gateway: string, first: number, count: number): string {
  const events = Array.from({ length: count }, (_, i) => ({
    seq: first + i,
    id: ID.replace(/8d$/, (i % 100).toString(16).padStart(2, '0')),
    type: 'passage',
    at: 1_772_438_400_000 + i,
    lane: 'in-1',
    payload: { i },
  }));
  return JSON.stringify({ v: 1, gateway, first, last: first + count - 1, count, sentAt: 0, events });
}

async function rejected(reason: string): Promise<number> {
  const m = (await registry.getMetricsAsJSON()).find((x) => x.name === 'zonegate_ingest_rejected_total');
  return Number(m?.values.find((v) => v.labels['reason'] === reason)?.value ?? 0);
}

test('a batch sent twice is stored once and acknowledged both times', async () => {
  await gw.publishAsync('zonegate/v1/gw/gw-dup/events', batch('gw-dup', 10, 5), { qos: 1 });
  await gw.publishAsync('zonegate/v1/gw/gw-dup/events', batch('gw-dup', 10, 5), { qos: 1 });
  await waitFor(() => acks.filter((a) => a.gateway === 'gw-dup').length === 2, 10_000, 'two acks');
  expect(acks.filter((a) => a.gateway === 'gw-dup').map((a) => a.ranges)).toEqual([[[10, 14]], [[10, 14]]]);
  const { keys } = await storedKeys(region.db.pool);
  expect([...keys].filter((k) => k.startsWith('gw-dup:')).sort()).toEqual([
    'gw-dup:10',
    'gw-dup:11',
    'gw-dup:12',
    'gw-dup:13',
    'gw-dup:14',
  ]);
});

test('malformed batches are refused, counted by reason, never acknowledged, and the ingest goes on', async () => {
  const topic = 'zonegate/v1/gw/gw-bad/events';
  await gw.publishAsync(topic, 'garbage', { qos: 1 });
  await gw.publishAsync(topic, batch('gw-bad', 1, 2).replace('"v":1', '"v":9'), { qos: 1 });
  await gw.publishAsync(topic, batch('gw-other', 1, 2), { qos: 1 }); // names another gateway than its topic
  await waitFor(
    async () => (await rejected('not-json')) === 1 && (await rejected('invalid')) === 1,
    10_000,
    'refusals',
  );
  await waitFor(async () => (await rejected('gateway-mismatch')) === 1, 10_000, 'mismatch');
  await gw.publishAsync(topic, batch('gw-bad', 100, 1), { qos: 1 });
  await waitFor(() => acks.some((a) => a.gateway === 'gw-bad'), 10_000, 'a good batch after the bad ones');
  expect(acks.filter((a) => a.gateway === 'gw-bad').map((a) => a.ranges)).toEqual([[[100, 100]]]);
  const { rows } = await region.db.pool.query(
    "SELECT count(*)::int AS n FROM zg_events WHERE gateway IN ('gw-bad', 'gw-other')",
  );
  expect(rows[0].n).toBe(1);
});

test('the acknowledgement waits for the commit: while the table is locked nothing is acknowledged', async () => {
  const locker = new pg.Client(region.db.config);
  await locker.connect();
  await locker.query('BEGIN');
  await locker.query('LOCK TABLE zg_events IN ACCESS EXCLUSIVE MODE');
  await gw.publishAsync('zonegate/v1/gw/gw-lock/events', batch('gw-lock', 1, 3), { qos: 1 });
  await new Promise((r) => setTimeout(r, 700));
  expect(acks.some((a) => a.gateway === 'gw-lock')).toBe(false);
  await locker.query('COMMIT');
  await locker.end();
  await waitFor(() => acks.some((a) => a.gateway === 'gw-lock'), 10_000, 'ack after the commit');
  const { rows } = await region.db.pool.query("SELECT count(*)::int AS n FROM zg_events WHERE gateway = 'gw-lock'");
  expect(rows[0].n).toBe(3);
});

test('gateway status messages are kept per gateway for the back office', async () => {
  await gw.publishAsync(
    'zonegate/v1/gw/gw-st/status',
    JSON.stringify({ v: 1, gateway: 'gw-st', state: 'offline', reason: 'connection-lost' }),
    { qos: 1 },
  );
  await waitFor(
    async () =>
      (await region.db.pool.query("SELECT state FROM zg_gateway_status WHERE gateway = 'gw-st'")).rows[0]?.state ===
      'offline',
    10_000,
    'status row',
  );
});

test('zonegate region ingest refuses broker settings it cannot use, naming the flag to fix', async () => {
  const [missing, half, url] = await Promise.all([
    runCli(['region', 'ingest', '--key', '/nonexistent/client.key', '--cert', '/nonexistent/c.crt']),
    runCli(['region', 'ingest', '--key', 'package.json']),
    runCli(['region', 'ingest', '--mqtt', 'http://broker:1883']),
  ]);
  expect([missing.code, half.code, url.code]).toEqual([2, 2, 2]);
  expect(missing.stderr).toContain('--key: cannot read /nonexistent/client.key (ENOENT)');
  expect(half.stderr).toContain('--key and --cert: give both for TLS client authentication, or neither');
  expect(url.stderr).toContain('--mqtt: "http://broker:1883" is not mqtt://host:port');
});

test('zonegate region ingest says which server it cannot reach, exit 1, without a stack trace', async () => {
  const r = await runCli([
    'region',
    'ingest',
    '--pg',
    'postgres://postgres@127.0.0.1:1/none',
    '--mqtt',
    region.broker.url,
  ]);
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(/^zonegate: cannot start ingest: .*ECONNREFUSED 127\.0\.0\.1:1/m);
  expect(r.stderr).not.toMatch(/\n\s+at /);
});

test('an event PostgreSQL cannot store is refused alone and counted; the rest of its batch and later batches are stored and acknowledged', async () => {
  const topic = 'zonegate/v1/gw/gw-nul/events';
  // Valid JSON the batch schema accepts, but jsonb has no place for a NUL character.
  const poisoned = JSON.parse(batch('gw-nul', 1, 3)) as { events: { payload: Record<string, unknown> }[] };
  poisoned.events[1]!.payload['detail'] = 'line\u0000end';
  await gw.publishAsync(topic, JSON.stringify(poisoned), { qos: 1 });
  await waitFor(() => acks.some((a) => a.gateway === 'gw-nul'), 10_000, 'ack of the storable events');
  expect(acks.filter((a) => a.gateway === 'gw-nul').map((a) => a.ranges)).toEqual([
    [
      [1, 1],
      [3, 3],
    ],
  ]);
  expect(await rejected('not-storable')).toBe(1);
  await gw.publishAsync(topic, batch('gw-nul', 4, 2), { qos: 1 });
  await waitFor(() => acks.filter((a) => a.gateway === 'gw-nul').length === 2, 10_000, 'the next batch acknowledged');
  const { keys } = await storedKeys(region.db.pool);
  expect([...keys].filter((k) => k.startsWith('gw-nul:')).sort()).toEqual([
    'gw-nul:1',
    'gw-nul:3',
    'gw-nul:4',
    'gw-nul:5',
  ]);
});
