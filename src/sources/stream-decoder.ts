import type { ClockSkewMonitor } from './clock-skew.js';
import { printableSample, type DialectCodec, type FrameResult, type RejectionReason } from './dialect/codec.js';
import { createFramer, type Framer } from './dialect/framer.js';
import type { SourceMetrics } from './metrics.js';
import type { PlateRead, SourceSink } from './plate-read.js';

export interface StreamDecoderOptions {
  readonly codec: DialectCodec;
  readonly sourceId: string;
  /** Gateway lane for reads whose camera lane is not in laneMap (or that carry none). */
  readonly lane: string;
  /** Camera lane label → gateway lane id. */
  readonly laneMap?: Readonly<Record<string, string>>;
  readonly sink: Pick<SourceSink, 'read' | 'reject'>;
  readonly metrics?: SourceMetrics;
  readonly skew?: ClockSkewMonitor;
}

/** Counts kept by every decoder, for probe, replay and tests. */
export interface DecoderStats {
  bytes: number;
  reads: number;
  heartbeats: number;
  rejected: Partial<Record<RejectionReason, number>>;
  rejectedBytes: Partial<Record<RejectionReason, number>>;
}

/** Noise is reported as one rejection per run, but never later than this many bytes. */
const GARBAGE_REPORT_BYTES = 4096;
/** How many start markers of one line are tried before the line is given up. */
const MAX_RESYNC_TRIES = 8;

/**
 * One byte stream (a serial port, one TCP connection, a capture file) of one dialect → plate reads
 * and counted rejections. Holds at most the framer's bounded buffer. Each read carries the gateway
 * clock and the high-resolution time at which the chunk completing it arrived: the decision
 * latency is measured from there.
 */
export class StreamDecoder {
  readonly stats: DecoderStats = { bytes: 0, reads: 0, heartbeats: 0, rejected: {}, rejectedBytes: {} };
  readonly #framer: Framer;
  /** A Map, not the config's object: a camera lane label such as "constructor" must not find an inherited property. */
  readonly #laneMap: ReadonlyMap<string, string>;
  #receivedAt = 0;
  #arrivedHr = 0n;
  #garbageBytes = 0;
  #garbageSample: Buffer | undefined;
  #garbageDetail = '';
  #garbageRuns = 0;
  lastFrameAt: number | undefined;

  constructor(private readonly options: StreamDecoderOptions) {
    const { codec } = options;
    this.#laneMap = new Map(Object.entries(options.laneMap ?? {}));
    this.#framer = createFramer(codec.profile.framing, codec.trailerBytes, {
      frame: (payload, trailer, quiet) => this.#frame(payload, trailer, quiet),
      junk: (reason, bytes, sample, detail) => {
        if (reason === 'garbage') this.#garbage(bytes, sample, detail);
        else this.#reject(reason, detail, sample, bytes);
      },
    });
  }

  get dialect(): string {
    return this.options.codec.name;
  }

  /** Bytes held for an incomplete frame, plus noise not yet reported. */
  get pending(): number {
    return this.#framer.buffered + this.#garbageBytes;
  }

  get highWater(): number {
    return this.#framer.highWater;
  }

  /** One chunk as it arrived; `arrivedHr` is process.hrtime.bigint() taken when it did. */
  push(chunk: Buffer, receivedAt: number, arrivedHr: bigint = process.hrtime.bigint()): void {
    this.#receivedAt = receivedAt;
    this.#arrivedHr = arrivedHr;
    this.stats.bytes += chunk.length;
    this.options.metrics?.bytes.inc({ source: this.options.sourceId }, chunk.length);
    this.#framer.push(chunk);
    if (this.#garbageBytes >= GARBAGE_REPORT_BYTES) this.#reportGarbage();
    this.options.metrics?.bufferHighWater.set({ source: this.options.sourceId }, this.#framer.highWater);
  }

  /** The stream went quiet or closed: a partial frame is reported as truncated, noise as garbage. */
  flush(why: 'idle' | 'closed', at: number): void {
    this.#receivedAt = at;
    this.#arrivedHr = process.hrtime.bigint();
    this.#framer.flush(why);
    this.#reportGarbage();
  }

  #frame(payload: Buffer, trailer: Buffer | undefined, quiet: boolean): boolean {
    const { codec } = this.options;
    const marker = codec.startMarker;
    if (!marker) {
      const result = codec.decode(payload, trailer);
      if (result.ok) {
        this.#deliver(result.frame);
        return true;
      }
      if (!quiet) this.#reject(result.reason, result.detail, payload, payload.length);
      return false;
    }
    // A start marker lets a line that noise ran into still be read from where the frame begins.
    const first = payload.indexOf(marker);
    if (first < 0) {
      if (!quiet)
        this.#garbage(
          payload.length,
          payload,
          `a line of ${payload.length} bytes without the start "${marker.toString('latin1')}"`,
        );
      return false;
    }
    // The frame usually starts at the first marker. When it does not decode from there, noise or a
    // cut-off frame ran into it: the frame that owns the terminator starts at a later marker, most
    // likely the last one (markers inside a frame, as in nested JSON, are tried on the way back).
    const candidates = [first];
    for (let at = payload.lastIndexOf(marker); at > first && candidates.length < MAX_RESYNC_TRIES;) {
      candidates.push(at);
      at = at - 1 < 0 ? -1 : payload.lastIndexOf(marker, at - 1);
    }
    let firstFailure: FrameResult | undefined;
    for (const at of candidates) {
      const result = codec.decode(payload.subarray(at), trailer);
      if (result.ok) {
        if (!quiet) {
          if (first > 0) this.#garbage(first, payload, `${first} bytes of noise before the frame start`);
          if (at > first)
            this.#reject(
              'truncated-frame',
              `frame cut off after ${at - first} bytes by the start of the next`,
              payload.subarray(first, at),
              at - first,
            );
        }
        this.#deliver(result.frame);
        return true;
      }
      firstFailure ??= result;
    }
    if (!quiet && firstFailure && !firstFailure.ok) {
      if (first > 0) this.#garbage(first, payload, `${first} bytes of noise before the frame start`);
      this.#reject(firstFailure.reason, firstFailure.detail, payload.subarray(first), payload.length - first);
    }
    return false;
  }

  #deliver(frame: Extract<FrameResult, { ok: true }>['frame']): void {
    this.#reportGarbage();
    const { sourceId, metrics } = this.options;
    this.lastFrameAt = this.#receivedAt;
    if (frame.kind === 'heartbeat') {
      this.stats.heartbeats++;
      metrics?.heartbeats.inc({ source: sourceId });
      return;
    }
    const f = frame.fields;
    const lane = (f.cameraLane !== undefined ? this.#laneMap.get(f.cameraLane) : undefined) ?? this.options.lane;
    const read: PlateRead = {
      sourceId,
      lane,
      text: f.text,
      country: f.country,
      confidence: f.confidence,
      receivedAt: this.#receivedAt,
      arrivedHr: this.#arrivedHr,
      ...(f.charConfidences ? { charConfidences: f.charConfidences } : {}),
      ...(f.cameraTime !== undefined ? { cameraTime: f.cameraTime } : {}),
      ...(f.direction ? { direction: f.direction } : {}),
      ...(f.imageRef !== undefined ? { imageRef: f.imageRef } : {}),
    };
    this.stats.reads++;
    metrics?.reads.inc({ source: sourceId });
    if (f.cameraTime !== undefined) this.options.skew?.observe(f.cameraTime, this.#receivedAt);
    this.options.sink.read(read);
  }

  #garbage(bytes: number, sample: Buffer, detail: string): void {
    if (this.#garbageBytes === 0) {
      this.#garbageSample = Buffer.from(sample.subarray(0, 40));
      this.#garbageDetail = detail;
    }
    this.#garbageRuns++;
    this.#garbageBytes += bytes;
  }

  #reportGarbage(): void {
    const n = this.#garbageBytes;
    if (n === 0) return;
    const runs = this.#garbageRuns;
    this.#garbageBytes = 0;
    this.#garbageRuns = 0;
    const first = this.#garbageDetail;
    this.#emitRejection(
      'garbage',
      runs === 1 ? first : `${n} bytes of noise in ${runs} pieces (first: ${first})`,
      this.#garbageSample ?? Buffer.alloc(0),
      n,
    );
  }

  #reject(reason: RejectionReason, detail: string, sample: Buffer, bytes: number): void {
    this.#reportGarbage();
    this.#emitRejection(reason, detail, sample, bytes);
  }

  #emitRejection(reason: RejectionReason, detail: string, sample: Buffer, bytes: number): void {
    const { sourceId, metrics, codec } = this.options;
    this.stats.rejected[reason] = (this.stats.rejected[reason] ?? 0) + 1;
    this.stats.rejectedBytes[reason] = (this.stats.rejectedBytes[reason] ?? 0) + bytes;
    metrics?.rejectedBytes.inc({ source: sourceId, reason }, bytes);
    this.options.sink.reject({
      sourceId,
      reason,
      detail: `${codec.name}: ${detail}`,
      at: this.#receivedAt,
      sample: printableSample(sample, 80),
    });
  }
}
