import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { SerialPort } from 'serialport';
import { plateKey } from '../plate/key.js';
import type { Clock, TimerHandle } from '../shared/clock.js';
import type { Lifecycle } from '../shared/lifecycle.js';
import type { Logger } from '../shared/log.js';
import { seededRandom } from '../shared/random.js';
import type { DialectCodec } from './dialect/codec.js';
import { resampleUart } from './line-speed.js';

const execFileAsync = promisify(execFile);

export interface SimulatedCameraOptions {
  /** The camera's end of the cable: one side of a pty pair. */
  readonly device: string;
  /** The camera's line speed. */
  readonly baudRate: number;
  readonly codec: DialectCodec;
  /** Gateway lane the camera watches (passed to onVehicle). */
  readonly lane: string;
  /** Lane label the camera writes into its frames (defaults to the lane id). */
  readonly cameraLane?: string;
  /** Plates it "sees", in turn: "96-LKH-9" (Dutch) or "DE:B-AB-1234". */
  readonly plates: readonly string[];
  /** Time between vehicles. */
  readonly intervalMs: number;
  readonly readsPerVehicle: number;
  /** Time between the reads of one vehicle. */
  readonly readGapMs?: number;
  /** Every Nth line is preceded by a deliberately broken one (0: never). */
  readonly corruptEvery?: number;
  /** A keep-alive this often when the dialect has one (0: never). */
  readonly heartbeatMs?: number;
  /** Camera clock minus real time, to show how a drifting camera clock is reported. */
  readonly clockSkewMs?: number;
  /**
   * Behave like a UART on a cable: when the receiving end of the pty pair (`peer`) is set to
   * another baud rate than the camera's, what arrives is what a UART would make of it.
   */
  readonly lineSpeed?: { readonly peer: string };
  readonly seed?: number;
  readonly clock: Clock;
  readonly log: Logger;
  /** A vehicle arrives in front of the camera (before its reads): the gateway occupies the simulated loop. */
  readonly onVehicle?: (lane: string, plate: string) => void;
}

export interface SimulatedCameraStats {
  vehicles: number;
  lines: number;
  corrupted: number;
  heartbeats: number;
  /** Lines not sent because the previous write had not drained (nobody reading the other end). */
  dropped: number;
}

const CORRUPTIONS = ['flipped-byte', 'truncated', 'noise', 'over-long'] as const;

/**
 * An ANPR camera in software, for the demo and for technicians: writes plate reads in any dialect
 * to a serial device (normally one end of a socat pty pair whose other end the gateway reads).
 * Several reads per vehicle with varying confidences, optional keep-alives, optional broken
 * lines, optional clock drift.
 */
export class SimulatedCamera implements Lifecycle {
  readonly name: string;
  readonly stats: SimulatedCameraStats = { vehicles: 0, lines: 0, corrupted: 0, heartbeats: 0, dropped: 0 };
  #port: SerialPort | undefined;
  #timers = new Set<TimerHandle>();
  #next = 0;
  #inFlight = 0;
  #chain: Promise<void> = Promise.resolve();
  #stopped = true;
  readonly #random: () => number;
  readonly #plates: { text: string; country: string }[];

  constructor(private readonly options: SimulatedCameraOptions) {
    this.name = `simulated-camera:${options.device}`;
    this.#random = seededRandom(options.seed ?? 1);
    this.#plates = options.plates.map(parseSimulatedPlate);
  }

  async start(): Promise<void> {
    const port = new SerialPort({ path: this.options.device, baudRate: this.options.baudRate, autoOpen: false });
    await new Promise<void>((resolve, reject) =>
      port.open((err) => (err ? reject(new Error(`simulated camera: ${err.message}`)) : resolve())),
    );
    port.on('error', (err) => this.options.log.debug({ err: err.message }, 'simulated camera write error'));
    this.#port = port;
    this.#stopped = false;
    this.#after(Math.min(this.options.intervalMs, 1_000), () => this.#vehicle());
    const hb = this.options.heartbeatMs ?? 0;
    if (hb > 0 && this.options.codec.profile.heartbeat) this.#heartbeatEvery(hb);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    for (const t of this.#timers) t.cancel();
    this.#timers.clear();
    await this.#chain;
    const port = this.#port;
    this.#port = undefined;
    if (port?.isOpen) await new Promise<void>((resolve) => port.close(() => resolve()));
  }

  /** Sends one vehicle's reads now (tests and technicians drive the camera by hand with it). */
  vehicle(plate?: string): void {
    this.#vehicle(plate === undefined ? undefined : parseSimulatedPlate(plate));
  }

  #after(ms: number, fn: () => void): void {
    const t = this.options.clock.setTimer(ms, () => {
      this.#timers.delete(t);
      if (!this.#stopped) fn();
    });
    this.#timers.add(t);
  }

  #heartbeatEvery(ms: number): void {
    this.#after(ms, () => {
      const frame = this.options.codec.encodeHeartbeat(this.#cameraTime());
      if (frame) {
        this.stats.heartbeats++;
        this.#write(frame);
      }
      this.#heartbeatEvery(ms);
    });
  }

  #cameraTime(): number {
    return this.options.clock.now() + (this.options.clockSkewMs ?? 0);
  }

  #vehicle(given?: { text: string; country: string }): void {
    const plate = given ?? this.#plates[this.#next++ % this.#plates.length]!;
    const { lane, readsPerVehicle, readGapMs = 200, onVehicle } = this.options;
    this.stats.vehicles++;
    onVehicle?.(lane, plate.text);
    const vehicleNo = this.stats.vehicles;
    for (let i = 0; i < readsPerVehicle; i++) {
      const send = (): void => this.#read(plate, vehicleNo);
      if (i === 0) send();
      else this.#after(i * readGapMs, send);
    }
    if (!given) this.#after(this.options.intervalMs, () => this.#vehicle());
  }

  #read(plate: { text: string; country: string }, vehicleNo: number): void {
    const r = this.#random;
    const confidence = 850 + Math.floor(r() * 140);
    const frame = this.options.codec.encode({
      text: plate.text,
      country: plate.country,
      confidence,
      charConfidences: [...plate.text].map(() => Math.min(1000, confidence - 40 + Math.floor(r() * 90))),
      cameraTime: this.#cameraTime(),
      cameraLane: this.options.cameraLane ?? this.options.lane,
      direction: 'in',
      imageRef: `sim-${String(vehicleNo).padStart(6, '0')}.jpg`,
    });
    const every = this.options.corruptEvery ?? 0;
    if (every > 0 && (this.stats.lines + 1) % every === 0) {
      this.#write(this.#corrupt(frame));
      this.stats.corrupted++;
    }
    this.stats.lines++;
    this.#write(frame);
  }

  /** A broken version of a frame, of the kinds seen on real RS-485 runs. */
  #corrupt(frame: Buffer): Buffer {
    const kind = CORRUPTIONS[this.stats.corrupted % CORRUPTIONS.length]!;
    const r = this.#random;
    switch (kind) {
      case 'flipped-byte': {
        const copy = Buffer.from(frame);
        const at = 1 + Math.floor(r() * (copy.length - 3));
        copy[at] = copy[at]! ^ (1 << Math.floor(r() * 7));
        return copy;
      }
      case 'truncated':
        return frame.subarray(0, Math.max(1, Math.floor(frame.length / 2)));
      case 'noise':
        return Buffer.from(Array.from({ length: 8 + Math.floor(r() * 24) }, () => Math.floor(r() * 256)));
      case 'over-long':
        return Buffer.concat([Buffer.alloc(this.options.codec.profile.framing.maxFrameBytes + 8, 0x41), frame]);
    }
  }

  /** Writes in order; drops a line when the previous ones have not drained, as a UART would just send it. */
  #write(frame: Buffer): void {
    const port = this.#port;
    if (!port || this.#inFlight > 4) {
      this.stats.dropped++;
      return;
    }
    this.#inFlight++;
    this.#chain = this.#chain.then(async () => {
      try {
        let bytes = frame;
        const peer = this.options.lineSpeed?.peer;
        if (peer) {
          const rx = await peerBaud(peer);
          if (rx !== undefined) bytes = resampleUart(frame, this.options.baudRate, rx);
        }
        if (!port.isOpen) return;
        await new Promise<void>((resolve) => {
          port.write(bytes, () => port.drain(() => resolve()));
        });
      } catch (err) {
        this.options.log.debug({ err: String(err) }, 'simulated camera could not write');
      } finally {
        this.#inFlight--;
      }
    });
  }
}

/** "96-LKH-9" (Dutch) or "DE:B-AB-1234" → plate key; throws on something that is not a plate. */
export function parseSimulatedPlate(p: string): { text: string; country: string } {
  const m = /^([A-Z]{2}):(.+)$/.exec(p);
  const key = m ? plateKey(m[2]!, m[1]) : plateKey(p);
  if (!key) throw new Error(`simulated plate "${p}" is not a plate (letters and digits, optional "CC:" prefix)`);
  return key;
}

/** The baud rate the receiving end of a pty pair is set to right now, as `stty` reports it. */
async function peerBaud(peer: string): Promise<number | undefined> {
  try {
    const { stdout } = await execFileAsync('stty', ['-F', peer, 'speed'], { timeout: 2_000 });
    const n = Number(stdout.trim());
    return Number.isFinite(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}
