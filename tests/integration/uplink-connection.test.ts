import { createServer, connect, type Server, type Socket } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import type { MqttClient } from 'mqtt';
import { mqttSchema } from '../../src/config/schema.js';
import { openJournal, type Journal } from '../../src/journal/index.js';
import { systemClock } from '../../src/shared/clock.js';
import { silentLogger } from '../../src/shared/log.js';
import { Registry } from '../../src/shared/metrics.js';
import {
  connectMqtt,
  createStatusPublisher,
  mqttProtocolOf,
  statusSchema,
  waitConnected,
  type StatusMessage,
} from '../../src/sync/index.js';
import { freePort, startMosquitto, type MosquittoInstance } from '../helpers/mosquitto.js';
import { createTestPki, mosquittoTlsListener, type TestPki } from '../helpers/tls.js';
import { tempDir } from '../helpers/tmp.js';
import { rawClient, waitFor } from '../helpers/uplink.js';

let pki: TestPki;
let tlsPort: number;
let broker: MosquittoInstance;
let dir: { path: string; remove: () => void };
const cleanups: (() => Promise<unknown> | void)[] = [];

beforeAll(async () => {
  pki = createTestPki('gw-tls-1');
  tlsPort = await freePort();
  broker = await startMosquitto({ extraConfig: mosquittoTlsListener(tlsPort, pki) });
  dir = tempDir('zg-conn-');
});
afterAll(async () => {
  await broker.dispose();
  pki.remove();
  dir.remove();
});
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function gatewayClient(id: string, config: Record<string, unknown>): { client: MqttClient; registry: Registry } {
  const registry = new Registry();
  const client = connectMqtt({
    config: mqttSchema.parse({ reconnectMs: 200, ...config }),
    gatewayId: id,
    baseDir: dir.path,
    log: silentLogger,
    registry,
  });
  cleanups.push(() => client.endAsync(true));
  return { client, registry };
}

function journalFor(id: string): Journal {
  const j = openJournal({
    file: `${dir.path}/${id}.sqlite`,
    gatewayId: id,
    clock: systemClock,
    registry: new Registry(),
    log: silentLogger,
  });
  cleanups.push(() => j.close());
  return j;
}

async function retainedStatus(gatewayId: string, predicate: (s: StatusMessage) => boolean): Promise<StatusMessage> {
  const watcher = await rawClient(broker.url);
  cleanups.push(() => watcher.endAsync());
  const seen: StatusMessage[] = [];
  watcher.on('message', (_t, p) => seen.push(statusSchema.parse(JSON.parse(p.toString()))));
  await watcher.subscribeAsync(`zonegate/v1/gw/${gatewayId}/status`, { qos: 1 });
  await waitFor(() => seen.some(predicate), 10_000, 'status');
  return seen.find(predicate)!;
}

describe('status topic and last will', () => {
  test('the retained status says online with versions, backlog and what the gateway supplies', async () => {
    const { client } = gatewayClient('gw-status-1', { url: broker.url });
    const journal = journalFor('gw-status-1');
    journal.append({ type: 'passage', at: Date.now(), payload: {} });
    const publisher = createStatusPublisher({
      client,
      gatewayId: 'gw-status-1',
      topicPrefix: 'zonegate/v1',
      journal,
      clock: systemClock,
      log: silentLogger,
      intervalMs: 60_000,
      versions: { zonegate: '0.1.0' },
      statusProvider: () => ({ lists: { version: 42, ageSeconds: 30 }, bollards: { 'in-1': 'idle-up' } }),
    });
    await waitConnected(client, 10_000);
    await publisher.start();
    cleanups.push(() => publisher.stop());
    // Subscribing after the fact still gets it: the status is retained.
    const s = await retainedStatus('gw-status-1', (m) => m.state === 'online');
    expect(s).toMatchObject({
      gateway: 'gw-status-1',
      versions: { zonegate: '0.1.0', mqtt: '5' },
      journal: { backlog: 2 },
      lists: { version: 42, ageSeconds: 30 },
      bollards: { 'in-1': 'idle-up' },
    });
  });

  test('when the gateway vanishes without a goodbye the broker publishes it offline (retained last will)', async () => {
    const { client } = gatewayClient('gw-will-1', { url: broker.url });
    await waitConnected(client, 10_000);
    client.stream.destroy(); // as a power cut or a cut cable looks to the broker
    client.end(true);
    const s = await retainedStatus('gw-will-1', (m) => m.state === 'offline');
    expect(s).toMatchObject({ gateway: 'gw-will-1', reason: 'connection-lost' });
  });

  test('a clean stop publishes offline with reason stopped', async () => {
    const { client } = gatewayClient('gw-stop-1', { url: broker.url });
    const publisher = createStatusPublisher({
      client,
      gatewayId: 'gw-stop-1',
      topicPrefix: 'zonegate/v1',
      journal: journalFor('gw-stop-1'),
      clock: systemClock,
      log: silentLogger,
      intervalMs: 60_000,
      versions: {},
      statusProvider: () => ({}),
    });
    await waitConnected(client, 10_000);
    await publisher.start();
    await publisher.stop();
    const s = await retainedStatus('gw-stop-1', (m) => m.state === 'offline');
    expect(s.reason).toBe('stopped');
  });
});

describe('TLS with client certificates', () => {
  test('a gateway with a certificate from the region CA connects over TLS', async () => {
    const { client } = gatewayClient('gw-tls-1', {
      url: `mqtts://127.0.0.1:${tlsPort}`,
      ca: pki.caCert,
      clientCert: pki.clientCert,
      clientKey: pki.clientKey,
    });
    await waitConnected(client, 10_000);
    await client.publishAsync('zonegate/v1/gw/gw-tls-1/status', '{"v":1}', { qos: 1 });
    expect(client.connected).toBe(true);
  });

  test('a certificate from another CA is refused by the broker and the gateway never counts as connected', async () => {
    const { client, registry } = gatewayClient('gw-tls-1', {
      url: `mqtts://127.0.0.1:${tlsPort}`,
      ca: pki.caCert,
      clientCert: pki.strangerCert,
      clientKey: pki.strangerKey,
    });
    const errors = async (): Promise<number> =>
      ((await registry.getMetricsAsJSON()).find((m) => m.name === 'zonegate_mqtt_errors_total')?.values ?? []).reduce(
        (n, v) => n + Number(v.value),
        0,
      );
    await waitFor(async () => (await errors()) >= 2, 15_000, 'refused attempts');
    expect(client.connected).toBe(false);
    await expect(waitConnected(client, 500)).rejects.toThrow(/not connected/);
  });

  test('a broker certificate the CA did not sign is refused by the gateway', async () => {
    const { client, registry } = gatewayClient('gw-tls-1', {
      url: `mqtts://127.0.0.1:${tlsPort}`,
      ca: `${pki.dir}/other-ca.crt`,
      clientCert: pki.clientCert,
      clientKey: pki.clientKey,
    });
    await waitFor(
      async () =>
        ((await registry.getMetricsAsJSON()).find((m) => m.name === 'zonegate_mqtt_errors_total')?.values.length ?? 0) >
        0,
      15_000,
      'a refused handshake',
    );
    expect(client.connected).toBe(false);
  });

  test('a missing key file is a settings error naming the key', () => {
    expect(() => gatewayClient('gw-tls-1', { url: broker.url, clientCert: 'nope.crt', clientKey: 'nope.key' })).toThrow(
      /mqtt\.clientKey: cannot read .*nope\.key/,
    );
  });
});

describe('MQTT version', () => {
  /**
   * A broker that speaks only MQTT 3.1.1 answers a v5 CONNECT with CONNACK return code 1
   * ("unacceptable protocol version") and closes, as the 3.1.1 spec requires; 3.1.1 connections
   * pass through to Mosquitto.
   */
  async function v311OnlyProxy(): Promise<{ url: string; server: Server; refused: () => number }> {
    let refused = 0;
    const sockets = new Set<Socket>();
    const server = createServer((socket) => {
      sockets.add(socket);
      socket.once('data', (first) => {
        // CONNECT: fixed header byte, remaining length (1–4 bytes), 00 04 'MQTT', protocol level.
        let i = 1;
        while (first[i]! & 0x80) i++;
        const level = first[i + 1 + 6];
        if (level === 5) {
          refused++;
          socket.end(Buffer.from([0x20, 0x02, 0x00, 0x01]));
          return;
        }
        const upstream = connect(broker.port, '127.0.0.1');
        sockets.add(upstream);
        upstream.write(first);
        socket.pipe(upstream).pipe(socket);
        upstream.on('error', () => socket.destroy());
        socket.on('error', () => upstream.destroy());
      });
    });
    const port = await freePort();
    await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
    cleanups.push(() => {
      for (const s of sockets) s.destroy();
      return new Promise((r) => server.close(r));
    });
    return { url: `mqtt://127.0.0.1:${port}`, server, refused: () => refused };
  }

  test('a gateway speaks MQTT 5 to a broker that supports it', async () => {
    const { client } = gatewayClient('gw-v5-1', { url: broker.url });
    await waitConnected(client, 10_000);
    expect(mqttProtocolOf(client)).toBe('5');
  });

  test('against a 3.1.1-only broker the gateway falls back to 3.1.1 and still connects', async () => {
    const proxy = await v311OnlyProxy();
    const { client } = gatewayClient('gw-v3-1', { url: proxy.url });
    await waitConnected(client, 10_000);
    expect(proxy.refused()).toBe(1);
    expect(mqttProtocolOf(client)).toBe('3.1.1');
  });
});
