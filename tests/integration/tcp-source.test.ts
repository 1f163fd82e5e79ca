import { writeFileSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { sourceSchema } from '../../src/config/schema.js';
import { ManualClock, systemClock, type Clock } from '../../src/shared/clock.js';
import { silentLogger } from '../../src/shared/log.js';
import { BUILTIN_DIALECT_DIR, DialectCatalog } from '../../src/sources/dialect/catalog.js';
import { createSource, type CameraSource } from '../../src/sources/index.js';
import { freePort } from '../helpers/mosquitto.js';
import { SilentListener } from '../helpers/silent-listener.js';
import { startPtyPair, type PtyHelper } from '../helpers/pty.js';
import { CollectingSink, openSerialWriter } from '../helpers/source-sink.js';
import { tempDir } from '../helpers/tmp.js';

const dialects = new DialectCatalog([BUILTIN_DIALECT_DIR]);
const read = (text: string, cameraLane = '1') => ({ text, country: 'NL', confidence: 910, cameraLane });

/** A camera that listens for the gateway (camera as TCP server) and can be restarted on its port. */
class ListeningCamera {
  server: Server | undefined;
  readonly sockets = new Set<Socket>();
  constructor(readonly port: number) {}
  async start(): Promise<void> {
    const server = createServer((s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
      s.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
    this.server = server;
  }
  send(bytes: Buffer): void {
    for (const s of this.sockets) s.write(bytes);
  }
  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.server = undefined;
  }
}

async function cameraConnection(port: number, from?: string): Promise<Socket> {
  const s = connect({ port, host: '127.0.0.1', ...(from ? { localAddress: from } : {}) });
  await new Promise<void>((resolve, reject) => s.once('connect', resolve).once('error', reject));
  return s;
}

/**
 * A host not in allowFrom: sends a valid read the moment its connection is up and resolves when
 * the gateway has closed it. Loopback answers from all of 127.0.0.0/8, so 127.0.0.1 and
 * 127.0.0.2 are two real peers.
 */
async function intruder(port: number, frame: Buffer, from = '127.0.0.1'): Promise<void> {
  const s = connect({ port, host: '127.0.0.1', localAddress: from });
  s.on('error', () => undefined);
  s.once('connect', () => s.write(frame));
  await new Promise<void>((resolve) => s.once('close', () => resolve()));
}

async function metricValue(registry: Registry, name: string, labels: Record<string, string>): Promise<number> {
  const metric = registry.getSingleMetric(name);
  if (!metric) return 0;
  const { values } = await metric.get();
  return values
    .filter((v) => Object.entries(labels).every(([k, want]) => v.labels[k] === want))
    .reduce((sum, v) => sum + v.value, 0);
}

const write = (s: Socket, b: Buffer): Promise<void> => new Promise((resolve) => s.write(b, () => resolve()));

describe('cameras over TCP', () => {
  const cleanup: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c();
  });

  function start(
    config: Record<string, unknown>,
    sink: CollectingSink,
    registry = new Registry(),
    clock: Clock = systemClock,
  ): CameraSource {
    const source = createSource(sourceSchema.parse(config), {
      sink,
      clock,
      log: silentLogger,
      registry,
      dialects,
    });
    cleanup.push(() => source.stop());
    return source;
  }

  it('the gateway reconnects with backoff to a camera that listens, after the camera restarts', async () => {
    const camera = new ListeningCamera(await freePort());
    await camera.start();
    cleanup.push(() => camera.stop());
    const sink = new CollectingSink();
    const registry = new Registry();
    const source = start(
      {
        id: 'cam-tcp',
        kind: 'tcp-client',
        lane: 'in-1',
        host: '127.0.0.1',
        port: camera.port,
        dialect: 'sync-lp-crc32',
        reconnect: { initialMs: 50, maxMs: 400 },
      },
      sink,
      registry,
    );
    await source.start();
    await sink.waitFor(() => camera.sockets.size === 1 && source.status().state === 'connected', 'the connection');
    const lp = dialects.codec('sync-lp-crc32');
    camera.send(lp.encode(read('96LKH9')));
    await sink.waitFor(() => sink.reads.length === 1, 'the first read');

    await camera.stop();
    await sink.waitFor(
      () =>
        sink.statuses.some(
          (s) => s.state === 'reconnecting' && /nothing listens on 127\.0\.0\.1:\d+/.test(s.detail ?? ''),
        ),
      'the source to retry a refused connection',
    );
    await camera.start();
    await sink.waitFor(() => camera.sockets.size === 1 && source.status().state === 'connected', 'the reconnection');
    camera.send(lp.encode(read('12ABC3')));
    await sink.waitFor(() => sink.reads.length === 2, 'a read after the restart');
    expect(sink.reads.map((r) => [r.sourceId, r.text])).toEqual([
      ['cam-tcp', '96LKH9'],
      ['cam-tcp', '12ABC3'],
    ]);
    const states = sink.statuses.map((s) => s.state);
    expect(states[0]).toBe('connected');
    expect(states).toContain('disconnected');
    expect(states.at(-1)).toBe('connected');
    const reconnects = await registry.getSingleMetric('zonegate_source_reconnects_total')!.get();
    expect(reconnects.values[0]!.value).toBe(1);
  });

  it('a camera whose SYNs are silently dropped costs one connect timeout per attempt, not two minutes, and is retried until it answers', async () => {
    // The kernel drops SYNs to this port unanswered (see SilentListener); without our deadline an
    // attempt would wait out the kernel's SYN retries (about 127 s) and this test would time out.
    const camera = await SilentListener.start();
    cleanup.push(() => camera.stop());
    const sink = new CollectingSink();
    const source = start(
      {
        id: 'cam-routed',
        kind: 'tcp-client',
        lane: 'in-1',
        host: '127.0.0.1',
        port: camera.port,
        connectTimeoutMs: 300,
        reconnect: { initialMs: 50, maxMs: 100 },
      },
      sink,
    );
    await source.start();
    await sink.waitFor(() => sink.statuses.some((s) => s.state === 'reconnecting'), 'the attempt to be given up');
    const stream = `127.0.0.1:${camera.port}`;
    expect(sink.statuses[0]).toEqual({
      sourceId: 'cam-routed',
      state: 'reconnecting',
      detail: `${stream} did not answer within 300 ms: camera off or unreachable, or a firewall drops the connection`,
    });
    expect(source.status().state).toBe('reconnecting');

    // The first attempt's socket was destroyed at its deadline, so the connection that follows
    // once the camera answers can only come from a retry.
    camera.answer();
    await sink.waitFor(() => source.status().state === 'connected', 'a retried attempt to connect');
    expect(sink.statuses.at(-1)?.detail).toBe(
      `connected to ${stream} after: ${stream} did not answer within 300 ms: camera off or unreachable, or a firewall drops the connection`,
    );
  });

  it('several cameras per gateway: two connected to one listening source and one on serial, each read on its own lane', async () => {
    const sink = new CollectingSink();
    const port = await freePort();
    const tcp = start(
      {
        id: 'cam-push',
        kind: 'tcp-server',
        lane: 'in-1',
        host: '127.0.0.1',
        port,
        dialect: 'json-lines',
        laneMap: { '1': 'in-1', '2': 'in-2' },
      },
      sink,
    );
    await tcp.start();
    const pty: PtyHelper = await startPtyPair();
    cleanup.push(() => pty.dispose());
    const serial = start(
      { id: 'cam-serial', kind: 'serial', lane: 'in-3', device: pty.b, dialect: 'stx-kv-bcc' },
      sink,
    );
    await serial.start();

    const a = await cameraConnection(port);
    const b = await cameraConnection(port);
    cleanup.push(
      () => void a.destroy(),
      () => void b.destroy(),
    );
    await sink.waitFor(() => tcp.status().connections === 2, 'two cameras connected');
    // The two cameras' frames arrive interleaved byte by byte: each connection has its own decoder.
    const json = dialects.codec('json-lines');
    const fa = json.encode(read('96LKH9', '1'));
    const fb = json.encode(read('BAB1234', '2'));
    for (let i = 0; i < Math.max(fa.length, fb.length); i++) {
      if (i < fa.length) await write(a, fa.subarray(i, i + 1));
      if (i < fb.length) await write(b, fb.subarray(i, i + 1));
    }
    const writer = await openSerialWriter(pty.a);
    cleanup.push(() => writer.close());
    await writer.write(dialects.codec('stx-kv-bcc').encode(read('12ABC3')));
    await sink.waitFor(() => sink.reads.length === 3, 'three reads');
    const byText = Object.fromEntries(sink.reads.map((r) => [r.text, [r.sourceId, r.lane]]));
    expect(byText).toEqual({
      '96LKH9': ['cam-push', 'in-1'],
      BAB1234: ['cam-push', 'in-2'],
      '12ABC3': ['cam-serial', 'in-3'],
    });
    expect(sink.rejections).toEqual([]);

    a.destroy();
    await sink.waitFor(() => tcp.status().connections === 1, 'one camera gone');
    expect(tcp.status().state).toBe('connected');
    expect(sink.statuses.at(-1)?.detail).toMatch(/disconnected.*1 still connected/);
  });

  it('a listening source refuses more cameras than it allows', async () => {
    const sink = new CollectingSink();
    const port = await freePort();
    const registry = new Registry();
    const tcp = start(
      { id: 'cam-push', kind: 'tcp-server', lane: 'in-1', host: '127.0.0.1', port, maxConnections: 1 },
      sink,
      registry,
    );
    await tcp.start();
    const first = await cameraConnection(port);
    cleanup.push(() => void first.destroy());
    await sink.waitFor(() => tcp.status().connections === 1, 'the first camera');
    const second = connect(port, '127.0.0.1');
    second.on('error', () => undefined);
    await new Promise<void>((resolve) => second.once('close', () => resolve()));
    expect(tcp.status().connections).toBe(1);
    await sink.waitFor(() => sink.faults.length === 1, 'the refusal to be reported');
    expect(sink.faults[0]).toMatchObject({ sourceId: 'cam-push', code: 'connection-refused' });
    expect(sink.faults[0]!.detail).toMatch(/^connection from 127\.0\.0\.1:\d+ refused: 1 cameras already connected/);
    expect(
      await metricValue(registry, 'zonegate_source_connections_refused_total', { reason: 'too-many-connections' }),
    ).toBe(1);
  });

  it('a listening source reads only from the cameras in allowFrom: another host is closed unread, counted and reported', async () => {
    const sink = new CollectingSink();
    const registry = new Registry();
    const clock = new ManualClock();
    const port = await freePort();
    const tcp = start(
      { id: 'cam-push', kind: 'tcp-server', lane: 'in-1', host: '127.0.0.1', port, allowFrom: ['127.0.0.2'] },
      sink,
      registry,
      clock,
    );
    await tcp.start();
    const zg1 = dialects.codec('zg1');
    const cameraFrame = zg1.encode(read('96LKH9'));
    const spoofFrame = zg1.encode(read('0PEN01'));

    const camera = await cameraConnection(port, '127.0.0.2');
    cleanup.push(() => void camera.destroy());
    await write(camera, cameraFrame);
    await sink.waitFor(() => sink.reads.length === 1, "the allowed camera's read");

    // The refusal happens before the intruder sees its connection close, so counting it then is not racy.
    await intruder(port, spoofFrame);
    expect(await metricValue(registry, 'zonegate_source_connections_refused_total', { reason: 'not-allowed' })).toBe(1);
    expect(sink.faults).toHaveLength(1);
    expect(sink.faults[0]).toMatchObject({ sourceId: 'cam-push', code: 'connection-refused' });
    expect(sink.faults[0]!.detail).toMatch(/^connection from 127\.0\.0\.1:\d+ refused: not in allowFrom/);

    // Knocking again within a minute is counted, not reported again; the next report says what was held back.
    await intruder(port, spoofFrame);
    expect(await metricValue(registry, 'zonegate_source_connections_refused_total', { reason: 'not-allowed' })).toBe(2);
    expect(sink.faults).toHaveLength(1);
    clock.advance(60_000);
    await intruder(port, spoofFrame);
    expect(sink.faults).toHaveLength(2);
    expect(sink.faults[1]!.detail).toMatch(/1 more refused since the last report \(from 127\.0\.0\.1\)$/);

    // The camera is still connected and read; nothing an intruder sent reached a decoder.
    await write(camera, zg1.encode(read('12ABC3')));
    await sink.waitFor(() => sink.reads.length === 2, "the camera's second read");
    expect(sink.reads.map((r) => r.text)).toEqual(['96LKH9', '12ABC3']);
    expect(sink.rejections).toEqual([]);
    expect(tcp.status().connections).toBe(1);
    expect(tcp.status().totals.bytes).toBe(cameraFrame.length + zg1.encode(read('12ABC3')).length);
  });

  it('a dual-stack listener matches a camera it sees as ::ffff:a.b.c.d against its IPv4 allowFrom entry', async () => {
    const sink = new CollectingSink();
    const registry = new Registry();
    const port = await freePort();
    const tcp = start(
      { id: 'cam-v6', kind: 'tcp-server', lane: 'in-1', host: '::', port, allowFrom: ['127.0.0.2/32'] },
      sink,
      registry,
    );
    await tcp.start();
    const zg1 = dialects.codec('zg1');
    const camera = await cameraConnection(port, '127.0.0.2');
    cleanup.push(() => void camera.destroy());
    await write(camera, zg1.encode(read('96LKH9')));
    await sink.waitFor(() => sink.reads.length === 1, 'the read of the camera at ::ffff:127.0.0.2');
    expect(tcp.status().detail).toMatch(/^camera ::ffff:127\.0\.0\.2:\d+ connected/);

    await intruder(port, zg1.encode(read('0PEN01')));
    expect(sink.faults[0]!.detail).toMatch(/^connection from ::ffff:127\.0\.0\.1:\d+ refused: not in allowFrom/);
    expect(await metricValue(registry, 'zonegate_source_connections_refused_total', { reason: 'not-allowed' })).toBe(1);
    expect(sink.reads.map((r) => r.text)).toEqual(['96LKH9']);
  });

  it('a listening source whose port is taken starts anyway, reports it, and takes cameras once the port is free', async () => {
    // Another program holds the port, as a gateway still stopping or a stray capture would.
    const port = await freePort();
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(port, '127.0.0.1', resolve));
    const release = (): Promise<void> =>
      new Promise((resolve) => (holder.listening ? holder.close(() => resolve()) : resolve()));
    cleanup.push(release);
    const sink = new CollectingSink();
    const clock = new ManualClock();
    const tcp = start(
      {
        id: 'cam-push',
        kind: 'tcp-server',
        lane: 'in-1',
        host: '127.0.0.1',
        port,
        allowFrom: ['127.0.0.1'],
        reconnect: { initialMs: 500, maxMs: 4000 },
      },
      sink,
      new Registry(),
      clock,
    );
    await tcp.start();
    await sink.waitFor(() => sink.statuses.length === 1, 'the port in use to be reported');
    expect(sink.statuses[0]).toEqual({
      sourceId: 'cam-push',
      state: 'reconnecting',
      detail: `cannot listen on 127.0.0.1:${port} for cameras: the port is in use (another program, or another source with the same port)`,
    });
    expect(tcp.status().state).toBe('reconnecting');

    await release();
    // The next try comes with the reconnect backoff, not before.
    clock.advance(499);
    const early = connect(port, '127.0.0.1');
    const refused = await new Promise<string | undefined>((resolve) => {
      early.once('error', (err: NodeJS.ErrnoException) => resolve(err.code));
      early.once('connect', () => resolve(undefined));
    });
    early.destroy();
    expect(refused).toBe('ECONNREFUSED');
    clock.advance(1);
    await sink.waitFor(() => sink.statuses.length === 2, 'the listener to come up');
    expect(sink.statuses[1]).toMatchObject({ state: 'disconnected' });
    expect(sink.statuses[1]!.detail).toBe(
      `listening on 127.0.0.1:${port} for cameras after: cannot listen on 127.0.0.1:${port} for cameras: the port is in use (another program, or another source with the same port); no camera connected yet`,
    );

    const camera = await cameraConnection(port);
    cleanup.push(() => void camera.destroy());
    await write(camera, dialects.codec('zg1').encode(read('96LKH9')));
    await sink.waitFor(() => sink.reads.length === 1, "the camera's read");
    expect(sink.reads.map((r) => [r.sourceId, r.lane, r.text])).toEqual([['cam-push', 'in-1', '96LKH9']]);
    expect(sink.statuses.map((s) => s.state)).toEqual(['reconnecting', 'disconnected', 'connected']);
  });

  it('a listening source on an address this machine does not have (yet) starts, reports it and keeps trying', async () => {
    const sink = new CollectingSink();
    const clock = new ManualClock();
    // 192.0.2.0/24 is for documentation: no interface here has it, as a VLAN address before it is up.
    const tcp = start(
      { id: 'cam-vlan', kind: 'tcp-server', lane: 'in-1', host: '192.0.2.1', port: await freePort() },
      sink,
      new Registry(),
      clock,
    );
    await tcp.start();
    await sink.waitFor(() => sink.statuses.length === 1, 'the missing address to be reported');
    expect(sink.statuses[0]!.state).toBe('reconnecting');
    expect(sink.statuses[0]!.detail).toMatch(
      /^cannot listen on 192\.0\.2\.1:\d+ for cameras: 192\.0\.2\.1 is not an address of this gateway \(yet\)/,
    );
    // A retry is due with the default backoff; stop() cancels it.
    expect(clock.pendingTimers).toBe(1);
    await tcp.stop();
    expect(clock.pendingTimers).toBe(0);
  });

  it('a camera whose dialect exists only as a YAML file named in the site profile is read', async () => {
    const dir = tempDir('zg-dialect-');
    cleanup.push(() => dir.remove());
    const file = join(dir.path, 'acme-pipe.yaml');
    writeFileSync(
      file,
      [
        'name: acme-pipe',
        'title: ACME pipe telegram',
        'framing: { type: newline, start: "#" }',
        'checksum: { algorithm: crc32, separator: "~" }',
        'layout: { type: delimited, separator: "|", fields: [tag, plate, score] }',
        'match: { tag: "#PL" }',
        'mapping: { plate: plate, confidence: { field: score, scale: 255 } }',
      ].join('\n'),
    );
    const sink = new CollectingSink();
    const port = await freePort();
    // No catalog given: the source resolves the path itself, as the gateway does from the profile.
    const source = createSource(
      sourceSchema.parse({ id: 'acme', kind: 'tcp-server', lane: 'in-1', host: '127.0.0.1', port, dialect: file }),
      { sink, clock: systemClock, log: silentLogger, registry: new Registry() },
    );
    cleanup.push(() => source.stop());
    await source.start();
    const cam = await cameraConnection(port);
    cleanup.push(() => void cam.destroy());
    const codec = new DialectCatalog([dir.path]).codec('acme-pipe');
    await write(
      cam,
      Buffer.concat([codec.encode({ text: '96LKH9', confidence: 1000 }), Buffer.from('#PL|XX|1~00000000\n')]),
    );
    await sink.waitFor(() => sink.reads.length === 1 && sink.rejections.length === 1, 'a read and a refusal');
    expect(sink.reads[0]).toMatchObject({ text: '96LKH9', confidence: 1000, sourceId: 'acme' });
    expect(sink.rejections[0]!.detail).toMatch(/^acme-pipe: frame says 00000000, computed [0-9A-F]{8} \(CRC-32/);
  });
});
