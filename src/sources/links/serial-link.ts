import { statSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { SerialPort } from 'serialport';
import type { Clock, TimerHandle } from '../../shared/clock.js';
import type { Lifecycle } from '../../shared/lifecycle.js';
import type { Logger } from '../../shared/log.js';
import { Reconnector, type LinkEvents, type ReconnectPolicy } from './types.js';

export interface SerialLinkOptions {
  readonly device: string;
  readonly baudRate: number;
  readonly dataBits?: 7 | 8;
  readonly parity?: 'none' | 'even' | 'odd';
  readonly stopBits?: 1 | 2;
  readonly reconnect?: ReconnectPolicy;
  readonly clock: Clock;
  readonly log: Logger;
  readonly events: LinkEvents;
}

/**
 * How often an open device's node is checked. A hung-up tty can read as end-of-file instead of an
 * error, which serialport does not report as a disconnect; the device node going away (USB
 * adapter pulled, pty link removed) or pointing elsewhere is the dependable sign.
 */
const PRESENCE_CHECK_MS = 1_000;

interface NodeIdentity {
  readonly dev: number;
  readonly ino: number;
  readonly rdev: number;
}

function identityOf(s: { dev: number; ino: number; rdev: number }): NodeIdentity {
  return { dev: s.dev, ino: s.ino, rdev: s.rdev };
}

/**
 * A serial port that comes back by itself: when the device disappears (USB adapter pulled, the
 * pty's master closed) the port is closed and reopened with backoff until the device is there
 * again. start() never fails because a camera is unplugged; it reports and keeps trying.
 */
export class SerialLink implements Lifecycle {
  readonly name: string;
  #port: SerialPort | undefined;
  #stopped = true;
  #presence: TimerHandle | undefined;
  /** Why the link closed the port itself (the device node went away). */
  #vanished: string | undefined;
  readonly #reconnector: Reconnector;

  constructor(private readonly options: SerialLinkOptions) {
    this.name = `serial:${options.device}`;
    this.#reconnector = new Reconnector({
      policy: options.reconnect,
      clock: options.clock,
      log: options.log,
      logContext: { device: options.device },
      events: options.events,
    });
  }

  async start(): Promise<void> {
    this.#stopped = false;
    await this.#open();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#reconnector.cancel();
    this.#presence?.cancel();
    this.#presence = undefined;
    const port = this.#port;
    this.#port = undefined;
    if (port?.isOpen) await new Promise<void>((resolve) => port.close(() => resolve()));
  }

  #open(): Promise<void> {
    const { device, baudRate, dataBits = 8, parity = 'none', stopBits = 1, clock, events } = this.options;
    const port = new SerialPort({ path: device, baudRate, dataBits, parity, stopBits, autoOpen: false });
    return new Promise<void>((resolve) => {
      port.open((err) => {
        if (this.#stopped) {
          if (!err) port.close();
          resolve();
          return;
        }
        if (err) {
          this.#scheduleRetry(describeOpenError(device, err));
          resolve();
          return;
        }
        this.#port = port;
        const after = this.#reconnector.succeeded();
        let identity: NodeIdentity | undefined;
        try {
          identity = identityOf(statSync(device));
        } catch {
          identity = undefined;
        }
        if (identity) this.#watchPresence(port, identity);
        port.on('data', (chunk: Buffer) => events.data(device, chunk, clock.now(), process.hrtime.bigint()));
        port.on('error', (e: Error) => this.options.log.warn({ device, err: e.message }, 'serial port error'));
        port.once('close', (e: (Error & { disconnected?: boolean }) | null) => {
          if (this.#port === port) this.#port = undefined;
          this.#presence?.cancel();
          this.#presence = undefined;
          const detail =
            this.#vanished ?? (e?.disconnected ? `${device} disappeared (${e.message})` : `${device} closed`);
          this.#vanished = undefined;
          events.closed(device, detail);
          if (!this.#stopped) this.#scheduleRetry(detail);
        });
        events.opened(device, `${device} open at ${baudRate} baud${after ? ` after: ${after}` : ''}`);
        resolve();
      });
    });
  }

  #watchPresence(port: SerialPort, identity: NodeIdentity): void {
    const { device, clock } = this.options;
    this.#presence = clock.setTimer(PRESENCE_CHECK_MS, () => {
      this.#presence = undefined;
      void stat(device)
        .then(
          (s) => identityOf(s),
          () => undefined,
        )
        .then((now) => {
          if (this.#stopped || this.#port !== port) return;
          if (now && now.dev === identity.dev && now.ino === identity.ino && now.rdev === identity.rdev) {
            this.#watchPresence(port, identity);
            return;
          }
          this.#vanished = now ? `${device} now leads to another device` : `${device} disappeared (device node gone)`;
          port.close();
        });
    });
  }

  #scheduleRetry(detail: string): void {
    if (this.#stopped) return;
    this.#reconnector.retry(detail, () => {
      if (!this.#stopped) void this.#open();
    });
  }
}

/** Turns serialport's open errors into what a technician should do about them. */
export function describeOpenError(device: string, err: Error): string {
  const m = err.message;
  if (/No such file|ENOENT/i.test(m)) return `${device} is not there (unplugged, or a wrong device name)`;
  if (/Permission denied|EACCES/i.test(m))
    return `no permission to open ${device}: add the zonegate user to the "dialout" group`;
  if (/lock|Resource temporarily unavailable|EBUSY/i.test(m))
    return `${device} is in use by another program (is zonegate already running, or a capture?)`;
  if (/Not a typewriter|ENOTTY|Inappropriate ioctl/i.test(m)) return `${device} is not a serial device`;
  return `cannot open ${device}: ${m}`;
}
