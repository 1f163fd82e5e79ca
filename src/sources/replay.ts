import { createReadStream } from 'node:fs';
import type { Registry } from 'prom-client';
import { systemClock, type Clock } from '../shared/clock.js';
import { readCapture, isCaptureFile, type CaptureHeader } from './capture.js';
import { ClockSkewMonitor } from './clock-skew.js';
import { DialectCatalog } from './dialect/catalog.js';
import type { RejectionReason } from './dialect/codec.js';
import { sourceMetrics } from './metrics.js';
import type { PlateRead, ReadRejection, SourceSink } from './plate-read.js';
import { StreamDecoder } from './stream-decoder.js';

/** A clock replay can move: ManualClock. With one, replay runs in the capture's own time. */
export interface SettableClock extends Clock {
  set(at: number): void;
}

/** A capture that cannot be replayed as asked (the technician's input, not a bug): no stack trace. */
export class ReplayInputError extends Error {
  override name = 'ReplayInputError';
}

export interface ReplayOptions {
  readonly sourceId: string;
  readonly lane: string;
  /** Dialect name or profile path; for a capture file, defaults to the dialect in its header. */
  readonly dialect?: string;
  readonly sink: SourceSink;
  /**
   * A ManualClock makes replay deterministic: the clock is set to each chunk's arrival time (or
   * each read's camera time for a plain file) before it is decoded, so passage windows and
   * timers behave as they did in the field. Any other clock: reads are stamped with the
   * capture's times and delivered as fast as they decode.
   */
  readonly clock?: Clock | SettableClock;
  readonly laneMap?: Readonly<Record<string, string>>;
  readonly dialects?: DialectCatalog;
  readonly registry?: Registry;
  readonly maxClockSkewMs?: number;
  /**
   * capture: arrival times recorded in a capture file; camera: each read's own timestamp (plain
   * files); none: everything now. auto (default): capture for capture files, camera for plain
   * files of a dialect with timestamps, else none.
   */
  readonly timing?: 'auto' | 'capture' | 'camera' | 'none';
}

export interface ReplayStats {
  readonly format: 'capture' | 'plain';
  readonly dialect: string;
  readonly timing: 'capture' | 'camera' | 'none';
  readonly header: CaptureHeader | undefined;
  readonly bytes: number;
  readonly reads: number;
  readonly heartbeats: number;
  readonly rejected: Partial<Record<RejectionReason, number>>;
  /** Opened/closed events recorded in the capture (device unplugged …). */
  readonly events: number;
  /** Capture lines that could not be parsed; each was reported as a rejection with its line number. */
  readonly badRecords: number;
  /** Arrival time of the first and last read, on the clock used. */
  readonly firstReadAt: number | undefined;
  readonly lastReadAt: number | undefined;
  /**
   * How far the capture's times were moved forward because the clock was already past them
   * (0 when the clock was set to the capture's start beforehand).
   */
  readonly timeShiftMs: number;
}

function isSettable(clock: Clock): clock is SettableClock {
  return typeof (clock as Partial<SettableClock>).set === 'function';
}

/**
 * Feeds a recorded capture through the same decoder a live source uses, to `sink`. Accepts a
 * capture file (`zonegate capture`, raw bytes with arrival times) and a plain file of frames in
 * any dialect (lines, STX/ETX telegrams, length-prefixed binary). Used by `zonegate replay` and
 * by tests; resolves when the whole file has been delivered.
 */
export async function replayCapture(path: string, options: ReplayOptions): Promise<ReplayStats> {
  const clock = options.clock ?? systemClock;
  const capture = await isCaptureFile(path);
  const opened = capture ? await readCapture(path) : undefined;
  const dialectRef = options.dialect ?? opened?.header.dialect;
  if (!dialectRef) throw new ReplayInputError(`${path}: the capture does not name its dialect; give one`);
  const codec = (options.dialects ?? new DialectCatalog()).codec(dialectRef);
  const hasCameraTime = codec.profile.mapping.timestamp !== undefined;
  const requested = options.timing ?? 'auto';
  const timing: ReplayStats['timing'] =
    requested === 'auto' ? (capture ? 'capture' : hasCameraTime ? 'camera' : 'none') : requested;
  if (timing === 'capture' && !capture)
    throw new ReplayInputError(`${path}: timing "capture" needs a capture file; this is a plain ${codec.name} file`);
  const settable = isSettable(clock) ? clock : undefined;
  let shift: number | undefined;
  /** Maps a time of the capture onto the clock; with a settable clock, moves the clock there. */
  const at = (t: number): number => {
    if (settable) {
      shift ??= Math.max(0, settable.now() - t);
      const target = t + shift;
      if (target > settable.now()) settable.set(target);
      return settable.now();
    }
    shift ??= 0;
    return t;
  };
  const metrics = options.registry ? sourceMetrics(options.registry) : undefined;
  const skew = new ClockSkewMonitor({
    sourceId: options.sourceId,
    maxSkewMs: options.maxClockSkewMs ?? 5_000,
    ...(metrics ? { metrics } : {}),
    onFault: (f) => options.sink.fault?.(f),
  });
  let firstReadAt: number | undefined;
  let lastReadAt: number | undefined;
  let badRecords = 0;
  let events = 0;
  const deliver = (read: PlateRead): void => {
    let r = read;
    if (timing === 'camera') {
      r =
        read.cameraTime !== undefined
          ? { ...read, receivedAt: at(read.cameraTime) }
          : { ...read, receivedAt: clock.now() };
    } else if (timing === 'none') r = { ...read, receivedAt: clock.now() };
    // Skew is judged against the capture's own arrival times, before any shift.
    if (timing === 'capture' && r.cameraTime !== undefined) skew.observe(r.cameraTime, r.receivedAt - (shift ?? 0));
    firstReadAt ??= r.receivedAt;
    lastReadAt = r.receivedAt;
    options.sink.read(r);
  };
  const decoder = new StreamDecoder({
    codec,
    sourceId: options.sourceId,
    lane: options.lane,
    ...(options.laneMap ? { laneMap: options.laneMap } : {}),
    sink: {
      read: deliver,
      reject: (rej: ReadRejection) => options.sink.reject(timing === 'capture' ? rej : { ...rej, at: clock.now() }),
    },
    ...(metrics ? { metrics } : {}),
  });
  const idleMs = codec.profile.framing.idleTimeoutMs;

  if (opened) {
    let lastDataAt: number | undefined;
    for await (const rec of opened.records) {
      if (rec.type === 'bad') {
        badRecords++;
        options.sink.reject({
          sourceId: options.sourceId,
          reason: 'bad-capture-record',
          detail: `${path}, line ${rec.line}: ${rec.problem}`,
          at: clock.now(),
        });
        continue;
      }
      // A pause in the capture longer than the dialect's idle timeout gives up a partial frame, as live.
      if (lastDataAt !== undefined && decoder.pending > 0 && rec.at - lastDataAt >= idleMs)
        decoder.flush('idle', at(lastDataAt + idleMs));
      if (rec.type === 'event') {
        events++;
        if (rec.event === 'closed') decoder.flush('closed', at(rec.at));
        continue;
      }
      lastDataAt = rec.at;
      decoder.push(rec.bytes, at(rec.at), process.hrtime.bigint());
    }
    decoder.flush('closed', clock.now());
  } else {
    for await (const chunk of createReadStream(path, { highWaterMark: 64 * 1024 })) {
      decoder.push(chunk as Buffer, clock.now(), process.hrtime.bigint());
    }
    decoder.flush('closed', clock.now());
  }
  const s = decoder.stats;
  return {
    format: capture ? 'capture' : 'plain',
    dialect: codec.name,
    timing,
    header: opened?.header,
    bytes: s.bytes,
    reads: s.reads,
    heartbeats: s.heartbeats,
    rejected: { ...s.rejected },
    events,
    badRecords,
    firstReadAt,
    lastReadAt,
    timeShiftMs: shift ?? 0,
  };
}

/**
 * The time a replay should start its ManualClock at: the capture's start, or the first camera
 * timestamp of a plain file (undefined when it has none).
 */
export async function captureStartTime(
  path: string,
  options: { dialect?: string; dialects?: DialectCatalog } = {},
): Promise<number | undefined> {
  if (await isCaptureFile(path)) {
    const c = await readCapture(path);
    c.close();
    return c.startedAtMs;
  }
  if (!options.dialect) return undefined;
  const codec = (options.dialects ?? new DialectCatalog()).codec(options.dialect);
  let first: number | undefined;
  const decoder = new StreamDecoder({
    codec,
    sourceId: 'probe',
    lane: 'probe',
    sink: { read: (r) => (first ??= r.cameraTime), reject: () => undefined },
  });
  for await (const chunk of createReadStream(path, { highWaterMark: 16 * 1024 })) {
    decoder.push(chunk as Buffer, 0);
    if (first !== undefined) break;
  }
  return first;
}
