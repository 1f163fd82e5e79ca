import Database from 'better-sqlite3';
import type { ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { SerialPort } from 'serialport';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { DialectCatalog } from '../../src/sources/index.js';
import { ackSchema, batchSchema, statusSchema, type EventBatch } from '../../src/sync/messages.js';
import { runCli, spawnCli } from '../helpers/cli.js';
import { startMosquitto, type MosquittoInstance } from '../helpers/mosquitto.js';
import { startPtyPair, type PtyHelper } from '../helpers/pty.js';
import { tempDir } from '../helpers/tmp.js';

/**
 * The walking skeleton end to end, as a technician runs it: `zonegate cache import`, then
 * `zonegate run` as its own process, a camera writing zg1 lines into a socat pseudo-terminal,
 * the simulated bollard, a private Mosquitto, and this test playing the region (acknowledging
 * the event batches it receives).
 */
const GRANTS = `plate,country,scope,kind,valid_from,valid_until,windows,vehicle_categories,source_ref,id
K-285-TX,NL,zone:test-zone,resident,2025-01-01,,,,bewonersontheffing,resident-1
`;

let dir: ReturnType<typeof tempDir>;
let broker: MosquittoInstance;
let pty: PtyHelper;
let region: MqttClient;
let gateway: ChildProcess;
let stderr = '';
const batches: EventBatch[] = [];
const statuses: unknown[] = [];
let site: string;

function siteYaml(device: string, brokerUrl: string, dataDir: string): string {
  return `
gateway: { id: gw-e2e, site: End-to-end test entrance, municipality: '0363', zone: test-zone }
dataDir: ${dataDir}
lanes:
  - id: in-1
    bollard:
      driver: simulator
      timing: { travelMs: 600, clearanceMs: 300, maxHoldDownMs: 5000, warningMs: 200 }
sources:
  - { id: cam-1, kind: serial, lane: in-1, device: ${device}, baudRate: 115200, dialect: zg1 }
passage: { windowMs: 800, minReads: 2, holdOffMs: 10000 }
mqtt: { url: '${brokerUrl}' }
uplink: { batchMaxAgeMs: 50, statusIntervalMs: 1000 }
status: { listen: 127.0.0.1, port: 0 }
`;
}

async function until<T>(what: string, probe: () => T | undefined, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n--- gateway stderr ---\n${stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function journalRows(type?: string): { seq: number; type: string; payload: Record<string, unknown> }[] {
  const db = new Database(join(dir.path, 'data', 'journal.sqlite'), { readonly: true, fileMustExist: true });
  try {
    const rows = db
      .prepare(`SELECT seq, type, payload FROM events ${type ? 'WHERE type = ?' : ''} ORDER BY seq`)
      .all(...(type ? [type] : [])) as { seq: number; type: string; payload: string }[];
    return rows.map((r) => ({ seq: r.seq, type: r.type, payload: JSON.parse(r.payload) as Record<string, unknown> }));
  } finally {
    db.close();
  }
}

beforeAll(async () => {
  dir = tempDir('zg-gateway-');
  broker = await startMosquitto();
  pty = await startPtyPair();
  site = join(dir.path, 'site.yaml');
  writeFileSync(site, siteYaml(pty.b, broker.url, join(dir.path, 'data')));
  writeFileSync(join(dir.path, 'grants.csv'), GRANTS);
  const imported = await runCli(['cache', 'import', join(dir.path, 'grants.csv'), '--config', site]);
  expect(imported.stderr).toBe('');
  expect(imported.code).toBe(0);

  region = await mqtt.connectAsync(broker.url, { protocolVersion: 5 });
  region.on('message', (topic, payload) => {
    if (topic.endsWith('/status')) {
      statuses.push(statusSchema.parse(JSON.parse(payload.toString())));
      return;
    }
    const batch = batchSchema.parse(JSON.parse(payload.toString()));
    batches.push(batch);
    const ack = ackSchema.parse({ v: 1, gateway: batch.gateway, ranges: [[batch.first, batch.last]], at: Date.now() });
    void region.publishAsync(`zonegate/v1/gw/${batch.gateway}/ack`, JSON.stringify(ack), { qos: 1 });
  });
  await region.subscribeAsync(['zonegate/v1/gw/gw-e2e/events', 'zonegate/v1/gw/gw-e2e/status'], { qos: 1 });

  gateway = spawnCli(['run', '--config', site, '--no-live'], { env: { ZONEGATE_LOG_LEVEL: 'info' } });
  gateway.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  let stdout = '';
  gateway.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  await until('the gateway to run', () => (stdout.includes('gateway running') ? true : undefined), 30_000);
}, 60_000);

afterAll(async () => {
  if (gateway.exitCode === null) gateway.kill('SIGKILL');
  await region?.endAsync();
  await pty?.dispose();
  await broker?.dispose();
  dir?.remove();
});

describe('zonegate run with a serial camera, a simulated bollard and the region over MQTT', () => {
  const codec = new DialectCatalog().codec('zg1');

  test('a listed plate read twice on the serial line opens the bollard; an unknown one is denied', async () => {
    const camera = new SerialPort({ path: pty.a, baudRate: 115200 });
    await new Promise<void>((resolve, reject) => camera.once('open', resolve).once('error', reject));
    const line = (text: string, confidence: number): Buffer =>
      codec.encode({ text, confidence, cameraTime: Date.now(), direction: 'in' });
    // Garbage on the line first: it is counted and skipped, the reads after it still count.
    camera.write(Buffer.from('\x00\xffNOISE$ZG1,garbage*0000\n'));
    camera.write(line('K285TX', 930));
    camera.write(line('K285TX', 950));
    camera.write(line('ZZ999Z', 940));
    camera.write(line('ZZ999Z', 960));
    await new Promise<void>((resolve) => camera.drain(() => resolve()));

    const passages = await until('two decisions in the journal', () => {
      const rows = journalRows('passage');
      return rows.length >= 2 ? rows : undefined;
    });
    const opened = passages.find((r) => r.payload['outcome'] === 'open');
    const denied = passages.find((r) => r.payload['outcome'] === 'deny');
    expect(opened?.payload).toMatchObject({ reason: 'grant', grantId: 'resident-1', listVersion: 1 });
    expect(denied?.payload).toMatchObject({ reason: 'no-grant' });
    // Allowed passages never carry the plain plate to disk (privacy): only the keyed hash.
    expect(JSON.stringify(opened?.payload)).not.toContain('K285TX');

    // The bollard lowered for the opening, after which the decision was journaled (GPIO first).
    const bollard = await until('the bollard to lower', () => {
      const rows = journalRows('bollard').filter((r) => r.payload['to'] === 'lowering');
      return rows.length > 0 ? rows : undefined;
    });
    expect(bollard[0]!.seq).toBeLessThan(opened!.seq);

    const faults = journalRows('fault');
    expect(faults.some((f) => f.payload['fault'] === 'input-rejected')).toBe(true);
    await new Promise<void>((resolve) => camera.close(() => resolve()));
  });

  test('every journaled event reaches the region in seq order and is acknowledged', async () => {
    const all = await until('the backlog to be acknowledged', () => {
      const rows = journalRows();
      const sent = new Set(batches.flatMap((b) => b.events.map((e) => e.seq)));
      return rows.length > 0 && rows.every((r) => sent.has(r.seq)) ? rows : undefined;
    });
    const seqs = batches.flatMap((b) => b.events.map((e) => e.seq));
    // Resends may repeat a range, but never reorder: first sightings come in increasing seq order.
    const firstSightings = seqs.filter((s, i) => seqs.indexOf(s) === i);
    expect(firstSightings).toEqual([...firstSightings].sort((a, b) => a - b));
    expect(new Set(seqs)).toEqual(new Set(all.map((r) => r.seq)));
    const online = await until('a status with an empty backlog', () =>
      statuses.find(
        (s) =>
          (s as { state: string }).state === 'online' &&
          (s as { journal?: { backlog: number } }).journal?.backlog === 0,
      ),
    );
    expect(online).toMatchObject({ gateway: 'gw-e2e', bollards: { 'in-1': { state: expect.any(String) } } });
  });

  test('SIGTERM stops the gateway cleanly: exit 0, status offline, the bollard parked', async () => {
    const exited = new Promise<number | null>((resolve) => gateway.once('exit', (code) => resolve(code)));
    gateway.kill('SIGTERM');
    expect(await exited).toBe(0);
    const offline = await until('the offline status', () =>
      statuses.find((s) => (s as { state: string }).state === 'offline'),
    );
    expect(offline).toMatchObject({ reason: 'stopped' });
    const system = journalRows('system').map((r) => r.payload['event']);
    expect(system).toEqual(['journal-created', 'started', 'stopped']);
    // fail-secure: the bollard is up (idle-up) when the gateway lets go of it.
    const last = journalRows('bollard').at(-1)!.payload;
    expect(last).toMatchObject({ from: 'idle-up', to: 'stopped' });
  });
});

describe('zonegate run refuses to start on a machine it cannot drive', () => {
  test('a GPIO bollard without the GPIO chip it names: exit 1 with what is wrong, no stack trace', async () => {
    const gpioSite = join(dir.path, 'gpio.yaml');
    writeFileSync(
      gpioSite,
      siteYaml('/dev/null', broker.url, join(dir.path, 'gpio-data')).replace(
        'driver: simulator',
        'driver: gpio\n      chipLabel: no-such-chip\n      pins: { lower: 17, raise: 27, positionDown: 5, positionUp: 6, loops: [13] }',
      ),
    );
    const r = await runCli(['run', '--config', gpioSite, '--no-live'], { env: { ZONEGATE_RUN_DIR: dir.path } });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/zonegate: .*(gpio|GPIO)/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});

describe('zonegate run refuses a broken profile', () => {
  test('exit code 2 with the file, the key path and what was expected; no stack trace', async () => {
    const broken = join(dir.path, 'broken.yaml');
    writeFileSync(
      broken,
      siteYaml('/dev/null', broker.url, dir.path).replace("municipality: '0363'", 'municipality: 363'),
    );
    const r = await runCli(['run', '--config', broken]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${broken}: invalid configuration`);
    expect(r.stderr).toContain('gateway.municipality: expected string, received number');
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});
