import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Registry } from 'prom-client';
import { ConfigError } from '../config/load.js';
import type { SourceConfig } from '../config/schema.js';
import type { Clock, TimerHandle } from '../shared/clock.js';
import { startAll, type Lifecycle } from '../shared/lifecycle.js';
import type { Logger } from '../shared/log.js';
import { ClockSkewMonitor } from './clock-skew.js';
import { DialectCatalog, UnknownDialectError } from './dialect/catalog.js';
import type { DialectCodec, RejectionReason } from './dialect/codec.js';
import { SerialLink } from './links/serial-link.js';
import { TcpClientLink, TcpServerLink } from './links/tcp-link.js';
import type { LinkEvents, PeerRefusal } from './links/types.js';
import { sourceMetrics, type SourceMetrics } from './metrics.js';
import type { SourceSink, SourceState } from './plate-read.js';
import { PtyPair } from './pty-pair.js';
import { SimulatedCamera } from './simulated-camera.js';
import { StreamDecoder, type DecoderStats } from './stream-decoder.js';

/** What a source needs from the gateway. */
export interface SourceDeps {
  /** Where reads, rejections, connection changes and faults go (the pipeline). */
  readonly sink: SourceSink;
  readonly clock: Clock;
  readonly log: Logger;
  readonly registry: Registry;
  /** kind simulated: a simulated vehicle arrives in front of the camera, before its reads. */
  readonly onVehicle?: (lane: string, plate: string) => void;
  /** Dialect profiles; default: /etc/zonegate/dialects then firmware-config/dialects. */
  readonly dialects?: DialectCatalog;
}

export interface SourceStatus {
  readonly id: string;
  readonly kind: SourceConfig['kind'];
  readonly dialect: string;
  readonly state: SourceState;
  /** Why it is not connected, or where it is connected to. */
  readonly detail: string | undefined;
  /** Open streams: 0/1 for serial and tcp-client, cameras connected for tcp-server. */
  readonly connections: number;
  /** Gateway time of the last frame (read or keep-alive) from this camera. */
  readonly lastFrameAt: number | undefined;
  readonly clockSkewMs: number | undefined;
  readonly totals: DecoderStats;
}

/** A camera input with a lifecycle and a status for the status page. */
export interface CameraSource extends Lifecycle {
  readonly id: string;
  status(): SourceStatus;
}

/**
 * Builds the source for one `sources[]` entry of the site config: serial, simulated, tcp-client or
 * tcp-server (kind rtsp is built by src/vision). Throws ConfigError for an unknown dialect.
 */
export function createSource(config: SourceConfig, deps: SourceDeps): CameraSource {
  const dialects = deps.dialects ?? new DialectCatalog();
  let codec: DialectCodec;
  try {
    codec = dialects.codec(config.dialect);
  } catch (err) {
    // Name the source whose profile key is wrong; a broken profile file names itself.
    if (!(err instanceof UnknownDialectError)) throw err;
    throw new ConfigError(
      `source ${config.id}`,
      err.problems.map((p) => `dialect: ${p}`),
    );
  }
  const log = deps.log.child({ source: config.id });
  const reconnect = config.reconnect;
  switch (config.kind) {
    case 'serial': {
      if (!config.device) throw new Error(`source ${config.id}: kind serial needs a device`);
      const device = config.device;
      return new DecodingSource(
        config,
        codec,
        { ...deps, log },
        (events) =>
          new SerialLink({
            device,
            baudRate: config.baudRate,
            dataBits: config.dataBits,
            parity: config.parity,
            stopBits: config.stopBits,
            reconnect,
            clock: deps.clock,
            log,
            events,
          }),
      );
    }
    case 'tcp-client': {
      if (!config.host || !config.port) throw new Error(`source ${config.id}: kind tcp-client needs host and port`);
      const { host, port } = config;
      return new DecodingSource(
        config,
        codec,
        { ...deps, log },
        (events) =>
          new TcpClientLink({
            host,
            port,
            reconnect,
            connectTimeoutMs: config.connectTimeoutMs,
            clock: deps.clock,
            log,
            events,
          }),
      );
    }
    case 'tcp-server': {
      if (!config.port) throw new Error(`source ${config.id}: kind tcp-server needs a port`);
      const port = config.port;
      return new DecodingSource(
        config,
        codec,
        { ...deps, log },
        (events) =>
          new TcpServerLink({
            host: config.host ?? '0.0.0.0',
            port,
            maxConnections: config.maxConnections,
            ...(config.allowFrom ? { allowFrom: config.allowFrom } : {}),
            reconnect,
            clock: deps.clock,
            log,
            events,
          }),
      );
    }
    case 'simulated':
      return new SimulatedSource(config, codec, { ...deps, log });
    case 'rtsp':
      throw new Error(`source ${config.id}: kind rtsp is built by the vision module, not by createSource`);
  }
}

/** A refusal is reported at once, then at most this often per source and reason. */
const REFUSAL_REPORT_INTERVAL_MS = 60_000;

const emptyStats = (): DecoderStats => ({ bytes: 0, reads: 0, heartbeats: 0, rejected: {}, rejectedBytes: {} });

function addStats(into: DecoderStats, from: DecoderStats): void {
  into.bytes += from.bytes;
  into.reads += from.reads;
  into.heartbeats += from.heartbeats;
  for (const [k, v] of Object.entries(from.rejected)) {
    const r = k as RejectionReason;
    into.rejected[r] = (into.rejected[r] ?? 0) + v;
  }
  for (const [k, v] of Object.entries(from.rejectedBytes)) {
    const r = k as RejectionReason;
    into.rejectedBytes[r] = (into.rejectedBytes[r] ?? 0) + v;
  }
}

interface StreamState {
  readonly decoder: StreamDecoder;
  idleTimer: TimerHandle | undefined;
  /** Steady clock at the last chunk: the idle flush of a cut-off frame must not follow NTP steps. */
  lastDataMono: number;
}

/**
 * A link (serial port, TCP) with a dialect decoder on each of its streams. Owns the idle timer
 * that gives up half-received frames, and reports connection changes to the sink.
 */
export class DecodingSource implements CameraSource {
  readonly name: string;
  readonly id: string;
  readonly #link: Lifecycle;
  readonly #streams = new Map<string, StreamState>();
  readonly #closedTotals = emptyStats();
  readonly #metrics: SourceMetrics;
  readonly #skew: ClockSkewMonitor;
  #state: SourceState = 'disconnected';
  #detail: string | undefined;
  #everOpened = false;
  #lastFrameAt: number | undefined;
  /** An orderly stop: closing is expected, not a fault to report. */
  #stopping = false;
  readonly #refusalReports = new Map<
    PeerRefusal,
    { at: number; held: number; peers: Set<string>; morePeers: boolean }
  >();

  constructor(
    private readonly config: SourceConfig,
    private readonly codec: DialectCodec,
    private readonly deps: SourceDeps,
    makeLink: (events: LinkEvents) => Lifecycle,
  ) {
    this.id = config.id;
    this.name = `source:${config.id}`;
    this.#metrics = sourceMetrics(deps.registry);
    this.#skew = new ClockSkewMonitor({
      sourceId: config.id,
      maxSkewMs: config.maxClockSkewMs,
      metrics: this.#metrics,
      onFault: (fault) => {
        deps.log.warn({ skewMs: fault.skewMs }, fault.detail);
        deps.sink.fault?.(fault);
      },
    });
    this.#metrics.connected.set({ source: config.id }, 0);
    this.#link = makeLink({
      opened: (stream, detail) => this.#opened(stream, detail),
      data: (stream, chunk, at, hr) => this.#data(stream, chunk, at, hr),
      closed: (stream, detail) => this.#closed(stream, detail),
      retrying: (detail) => this.#setState('reconnecting', detail),
      listening: (detail, after) => this.#listening(detail, after),
      refused: (peer, reason, detail) => this.#refused(peer, reason, detail),
    });
  }

  async start(): Promise<void> {
    await this.#link.start();
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    await this.#link.stop();
    for (const [stream] of this.#streams) this.#closed(stream, 'source stopped');
    this.#stopping = false;
  }

  status(): SourceStatus {
    const totals = emptyStats();
    addStats(totals, this.#closedTotals);
    for (const s of this.#streams.values()) addStats(totals, s.decoder.stats);
    let lastFrameAt = this.#lastFrameAt;
    for (const s of this.#streams.values())
      if (s.decoder.lastFrameAt !== undefined && (lastFrameAt === undefined || s.decoder.lastFrameAt > lastFrameAt))
        lastFrameAt = s.decoder.lastFrameAt;
    return {
      id: this.id,
      kind: this.config.kind,
      dialect: this.codec.name,
      state: this.#state,
      detail: this.#detail,
      connections: this.#streams.size,
      lastFrameAt,
      clockSkewMs: this.#skew.lastSkewMs,
      totals,
    };
  }

  #opened(stream: string, detail: string): void {
    const decoder = new StreamDecoder({
      codec: this.codec,
      sourceId: this.id,
      lane: this.config.lane,
      ...(this.config.laneMap ? { laneMap: this.config.laneMap } : {}),
      sink: this.deps.sink,
      metrics: this.#metrics,
      skew: this.#skew,
    });
    this.#streams.set(stream, { decoder, idleTimer: undefined, lastDataMono: this.deps.clock.monotonic() });
    if (this.#everOpened) this.#metrics.reconnects.inc({ source: this.id });
    this.#everOpened = true;
    this.#metrics.connected.set({ source: this.id }, this.#streams.size);
    this.deps.log.info(detail);
    this.#setState('connected', detail);
  }

  /**
   * A listener is up and no camera has connected yet. After an outage (port in use) that is
   * reported, so the status page and journal no longer say the source is retrying; on a first try
   * it only becomes the detail of the status.
   */
  #listening(detail: string, after: string | undefined): void {
    if (this.#streams.size > 0) return;
    const waiting = `${detail}; no camera connected yet`;
    if (after) this.#setState('disconnected', waiting);
    else this.#detail = waiting;
  }

  #data(stream: string, chunk: Buffer, at: number, hr: bigint): void {
    const s = this.#streams.get(stream);
    if (!s) return;
    s.decoder.push(chunk, at, hr);
    s.lastDataMono = this.deps.clock.monotonic();
    if (s.decoder.pending > 0 && !s.idleTimer) this.#armIdle(stream, s, this.#idleMs());
  }

  #idleMs(): number {
    return this.codec.profile.framing.idleTimeoutMs;
  }

  #armIdle(stream: string, s: StreamState, ms: number): void {
    s.idleTimer = this.deps.clock.setTimer(ms, () => {
      s.idleTimer = undefined;
      if (this.#streams.get(stream) !== s || s.decoder.pending === 0) return;
      const quiet = this.deps.clock.monotonic() - s.lastDataMono;
      if (quiet >= this.#idleMs()) s.decoder.flush('idle', this.deps.clock.now());
      else this.#armIdle(stream, s, this.#idleMs() - quiet);
    });
  }

  #closed(stream: string, detail: string): void {
    const s = this.#streams.get(stream);
    if (!s) return;
    s.idleTimer?.cancel();
    s.decoder.flush('closed', this.deps.clock.now());
    addStats(this.#closedTotals, s.decoder.stats);
    if (s.decoder.lastFrameAt !== undefined)
      this.#lastFrameAt = Math.max(this.#lastFrameAt ?? 0, s.decoder.lastFrameAt);
    this.#streams.delete(stream);
    this.#metrics.connected.set({ source: this.id }, this.#streams.size);
    if (this.#stopping) {
      this.#state = 'disconnected';
      this.#detail = 'stopped';
      return;
    }
    this.deps.log.warn(detail);
    if (this.#streams.size === 0) this.#setState('disconnected', detail);
    else this.deps.sink.status?.(this.id, 'connected', `${detail}; ${this.#streams.size} still connected`);
  }

  /**
   * Every refusal is counted; it is logged and reported (journal, status page) at once, then at
   * most once a minute per reason with what was held back, so that a host knocking in a loop
   * cannot flood the journal.
   */
  #refused(peer: string, reason: PeerRefusal, detail: string): void {
    this.#metrics.connectionsRefused.inc({ source: this.id, reason });
    // Wall time, as the pipeline's rejection reports; a step back in time starts a new interval.
    const now = this.deps.clock.now();
    const last = this.#refusalReports.get(reason);
    if (last && now >= last.at && now - last.at < REFUSAL_REPORT_INTERVAL_MS) {
      last.held++;
      const address = peer.replace(/:\d+$/, '');
      if (last.peers.size < 5) last.peers.add(address);
      else if (!last.peers.has(address)) last.morePeers = true;
      return;
    }
    this.#refusalReports.set(reason, { at: now, held: 0, peers: new Set(), morePeers: false });
    const since = last?.held
      ? `; ${last.held} more refused since the last report (from ${[...last.peers].join(', ')}${last.morePeers ? ' and others' : ''})`
      : '';
    this.deps.log.warn({ camera: peer, reason }, detail + since);
    this.deps.sink.fault?.({
      sourceId: this.id,
      code: 'connection-refused',
      detail: detail + since,
      at: now,
    });
  }

  #setState(state: SourceState, detail: string): void {
    this.#state = state;
    this.#detail = detail;
    this.deps.sink.status?.(this.id, state, detail);
  }
}

/**
 * kind simulated: a socat pty pair, the real serial source on one end and a simulated camera on
 * the other. Nothing in the gateway knows the camera is not real.
 */
class SimulatedSource implements CameraSource {
  readonly name: string;
  readonly id: string;
  #dir: string | undefined;
  #stopParts: (() => Promise<void>) | undefined;
  #serial: DecodingSource | undefined;

  constructor(
    private readonly config: SourceConfig,
    private readonly codec: DialectCodec,
    private readonly deps: SourceDeps,
  ) {
    this.id = config.id;
    this.name = `source:${config.id}`;
    if (!config.simulate) throw new Error(`source ${config.id}: kind simulated needs a simulate section`);
  }

  async start(): Promise<void> {
    const sim = this.config.simulate!;
    const dir = mkdtempSync(join(tmpdir(), `zonegate-sim-${this.id}-`));
    this.#dir = dir;
    const pty = new PtyPair(join(dir, 'camera'), join(dir, 'gateway'));
    const serialConfig: SourceConfig = { ...this.config, kind: 'serial', device: pty.gatewayEnd };
    const { clock, log } = this.deps;
    const serial = new DecodingSource(
      serialConfig,
      this.codec,
      this.deps,
      (events) =>
        new SerialLink({
          device: pty.gatewayEnd,
          baudRate: this.config.baudRate,
          reconnect: this.config.reconnect,
          clock,
          log,
          events,
        }),
    );
    const cameraLane = Object.entries(this.config.laneMap ?? {}).find(([, lane]) => lane === this.config.lane)?.[0];
    const camera = new SimulatedCamera({
      device: pty.cameraEnd,
      baudRate: this.config.baudRate,
      codec: this.codec,
      lane: this.config.lane,
      ...(cameraLane !== undefined ? { cameraLane } : {}),
      plates: sim.plates,
      intervalMs: sim.intervalMs,
      readsPerVehicle: sim.readsPerVehicle,
      readGapMs: sim.readGapMs,
      corruptEvery: sim.corruptEvery,
      heartbeatMs: sim.heartbeatMs,
      clockSkewMs: sim.clockSkewMs,
      seed: sim.seed,
      clock,
      log,
      ...(this.deps.onVehicle ? { onVehicle: this.deps.onVehicle } : {}),
    });
    this.#serial = serial;
    try {
      this.#stopParts = await startAll([pty, serial, camera]);
    } catch (err) {
      await this.stop();
      throw err;
    }
  }

  async stop(): Promise<void> {
    await this.#stopParts?.();
    this.#stopParts = undefined;
    if (this.#dir) rmSync(this.#dir, { recursive: true, force: true });
    this.#dir = undefined;
  }

  status(): SourceStatus {
    const s = this.#serial?.status();
    return s
      ? { ...s, kind: 'simulated' }
      : {
          id: this.id,
          kind: 'simulated',
          dialect: this.codec.name,
          state: 'disconnected',
          detail: 'not started',
          connections: 0,
          lastFrameAt: undefined,
          clockSkewMs: undefined,
          totals: emptyStats(),
        };
  }
}
