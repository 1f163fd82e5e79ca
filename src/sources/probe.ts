import { SerialPort } from 'serialport';
import type { Clock } from '../shared/clock.js';
import type { DialectCodec, RejectionReason } from './dialect/codec.js';
import { describeOpenError } from './links/serial-link.js';
import { printableSample } from './dialect/codec.js';
import type { PlateRead } from './plate-read.js';
import { StreamDecoder } from './stream-decoder.js';

/** The speeds serial ANPR cameras are found at, most common first. */
export const COMMON_BAUD_RATES = [9600, 19200, 38400, 57600, 115200, 4800, 2400] as const;

export interface ProbeOptions {
  readonly device: string;
  readonly baudRates: readonly number[];
  readonly dialects: readonly DialectCodec[];
  /** Longest listen per speed. */
  readonly listenMs: number;
  /** Frames (reads or keep-alives) one dialect must decode at one speed to count as a match. */
  readonly minFrames?: number;
  /** Keep trying the other speeds after a match (to show all evidence). */
  readonly all?: boolean;
  readonly dataBits?: 7 | 8;
  readonly parity?: 'none' | 'even' | 'odd';
  readonly stopBits?: 1 | 2;
  readonly clock: Clock;
  /** Progress for the technician (one line per speed). */
  readonly onAttempt?: (attempt: ProbeAttempt) => void;
}

export interface DialectScore {
  readonly dialect: string;
  readonly reads: number;
  readonly heartbeats: number;
  readonly rejected: Partial<Record<RejectionReason, number>>;
  readonly rejections: number;
  readonly firstRead?: PlateRead;
}

export interface ProbeAttempt {
  readonly baudRate: number;
  readonly bytes: number;
  /** Share of received bytes that are printable ASCII, tab, CR or LF (0–1). */
  readonly printable: number;
  readonly listenedMs: number;
  /** Best first. */
  readonly scores: readonly DialectScore[];
  /** The first received bytes, printable (binary escaped). */
  readonly sample: string;
  readonly error?: string;
}

export interface ProbeResult {
  readonly device: string;
  readonly match?: {
    readonly baudRate: number;
    readonly dialect: string;
    readonly score: DialectScore;
    readonly sample: string;
  };
  readonly attempts: readonly ProbeAttempt[];
  /** What to check when nothing matched. */
  readonly advice?: string;
}

const KEEP_BYTES = 256 * 1024;

function printableShare(bytes: Buffer): number {
  if (bytes.length === 0) return 0;
  let n = 0;
  for (const b of bytes) if ((b >= 0x20 && b < 0x7f) || b === 0x09 || b === 0x0a || b === 0x0d) n++;
  return n / bytes.length;
}

function isMatch(score: DialectScore | undefined, minFrames: number): boolean {
  if (!score) return false;
  const frames = score.reads + score.heartbeats;
  // Mid-frame start and a noisy line are allowed; most of what was decodable must decode.
  return frames >= minFrames && frames >= score.rejections;
}

/**
 * Listens to a serial device at each speed in turn and runs every dialect over what arrives.
 * At the wrong speed a UART delivers noise that no dialect decodes (the checksums see to it); at
 * the right one, the camera's dialect decodes and the others refuse it.
 */
export async function probeSerial(options: ProbeOptions): Promise<ProbeResult> {
  const minFrames = options.minFrames ?? 2;
  const attempts: ProbeAttempt[] = [];
  let match: ProbeResult['match'];
  for (const baudRate of options.baudRates) {
    const attempt = await listenAt(baudRate, options, minFrames);
    attempts.push(attempt);
    options.onAttempt?.(attempt);
    if (attempt.error) break;
    const best = attempt.scores[0];
    if (!match && isMatch(best, minFrames)) {
      match = { baudRate, dialect: best!.dialect, score: best!, sample: attempt.sample };
      if (!options.all) break;
    }
  }
  return { device: options.device, ...(match ? { match } : { advice: adviceFor(attempts) }), attempts };
}

function adviceFor(attempts: readonly ProbeAttempt[]): string {
  const failed = attempts.find((a) => a.error);
  if (failed) return failed.error!;
  if (attempts.every((a) => a.bytes === 0))
    return 'nothing was received at any speed: is the camera powered and its serial output enabled? Check TX/RX (RS-232) or swap A/B (RS-485), and the ground';
  const clean = attempts.find((a) => a.printable > 0.95 && a.bytes > 0);
  if (clean)
    return `clean text at ${clean.baudRate} baud but no known dialect decodes it: capture it (zonegate capture) and add a profile (docs/camera-input.md)`;
  return 'bytes arrive but nothing decodes at any of these speeds: try other speeds (--baud) or other settings (--parity, --data-bits), or a dialect profile for this camera';
}

async function listenAt(baudRate: number, options: ProbeOptions, minFrames: number): Promise<ProbeAttempt> {
  const { device, dialects, listenMs, clock } = options;
  const scores = dialects.map((codec) => {
    const s = {
      dialect: codec.name,
      reads: 0,
      heartbeats: 0,
      rejected: {} as Partial<Record<RejectionReason, number>>,
      rejections: 0,
      firstRead: undefined as PlateRead | undefined,
    };
    const decoder = new StreamDecoder({
      codec,
      sourceId: 'probe',
      lane: 'probe',
      sink: {
        read: (r) => {
          s.reads++;
          s.firstRead ??= r;
        },
        reject: (rej) => {
          s.rejections++;
          const reason = rej.reason as RejectionReason;
          s.rejected[reason] = (s.rejected[reason] ?? 0) + 1;
        },
      },
    });
    return { s, decoder };
  });
  const received: Buffer[] = [];
  let bytes = 0;
  const started = clock.now();
  const port = new SerialPort({
    path: device,
    baudRate,
    dataBits: options.dataBits ?? 8,
    parity: options.parity ?? 'none',
    stopBits: options.stopBits ?? 1,
    autoOpen: false,
  });
  const openError = await new Promise<Error | null>((resolve) => port.open((err) => resolve(err)));
  if (openError)
    return {
      baudRate,
      bytes: 0,
      printable: 0,
      listenedMs: 0,
      scores: [],
      sample: '',
      error: describeOpenError(device, openError),
    };
  port.on('error', () => undefined);
  await new Promise<void>((resolve) => {
    const done = (): void => {
      timer.cancel();
      port.off('data', onData);
      port.off('close', done);
      resolve();
    };
    const onData = (chunk: Buffer): void => {
      if (bytes < KEEP_BYTES) received.push(chunk);
      bytes += chunk.length;
      const now = clock.now();
      for (const { s, decoder } of scores) {
        decoder.push(chunk, now);
        // Once one dialect has clearly won at this speed, there is no need to listen longer.
        if (s.reads + s.heartbeats >= minFrames + 2 && s.reads + s.heartbeats > 2 * s.rejections) done();
      }
    };
    const timer = clock.setTimer(listenMs, done);
    port.on('data', onData);
    port.once('close', done);
  });
  for (const { decoder } of scores) {
    decoder.flush('idle', clock.now());
  }
  if (port.isOpen) await new Promise<void>((resolve) => port.close(() => resolve()));
  const all = Buffer.concat(received);
  const ranked: DialectScore[] = scores
    .map(({ s }) => {
      const { firstRead, ...rest } = s;
      return firstRead ? { ...rest, firstRead } : rest;
    })
    .sort((a, b) => b.reads + b.heartbeats - (a.reads + a.heartbeats) || a.rejections - b.rejections);
  return {
    baudRate,
    bytes,
    printable: printableShare(all),
    listenedMs: clock.now() - started,
    scores: ranked,
    sample: printableSample(all.subarray(0, 200), 160),
  };
}
