import type { Clock, TimerHandle } from '../../shared/clock.js';
import type { Logger } from '../../shared/log.js';

/**
 * A link delivers raw bytes from one or more streams (a serial port is one stream; a TCP server
 * has one per connected camera). It knows nothing about dialects: the source puts a decoder on
 * each stream, and `zonegate capture` records the same bytes to a file.
 */
export interface LinkEvents {
  opened(stream: string, detail: string): void;
  /** `arrivedHr` is process.hrtime.bigint() taken the moment the chunk was handed to us. */
  data(stream: string, chunk: Buffer, receivedAt: number, arrivedHr: bigint): void;
  closed(stream: string, detail: string): void;
  /** Waiting to retry (device absent, connection refused); `detail` says why, once per outage. */
  retrying?(detail: string, delayMs: number): void;
  /**
   * A listening link is ready for cameras; `after` is the outage it came back from (port in use,
   * address not there), undefined on a first try that worked.
   */
  listening?(detail: string, after: string | undefined): void;
  /**
   * A listening link turned a peer away and closed the connection before reading from it: the
   * peer is not in allowFrom, or too many cameras are connected. Called for every refusal.
   */
  refused?(peer: string, reason: PeerRefusal, detail: string): void;
}

/** Why a listening link closed a connection at once (the `reason` label of the refusal count). */
export type PeerRefusal = 'not-allowed' | 'too-many-connections';

export interface ReconnectPolicy {
  /** First retry after this long; doubled on each failure … */
  readonly initialMs: number;
  /** … up to this. */
  readonly maxMs: number;
}

export const DEFAULT_RECONNECT: ReconnectPolicy = { initialMs: 250, maxMs: 5_000 };

/** Exponential backoff, reset when a connection succeeds. */
export class Backoff {
  #next: number;

  constructor(private readonly policy: ReconnectPolicy) {
    this.#next = policy.initialMs;
  }

  next(): number {
    const delay = this.#next;
    this.#next = Math.min(this.policy.maxMs, this.#next * 2);
    return delay;
  }

  reset(): void {
    this.#next = this.policy.initialMs;
  }
}

/**
 * The retry loop of a link that comes back by itself (serial device, TCP connection to a camera):
 * attempts back off, and an outage is logged and reported once, not on every attempt.
 */
export class Reconnector {
  readonly #backoff: Backoff;
  #timer: TimerHandle | undefined;
  #outage: string | undefined;

  constructor(
    private readonly options: {
      readonly policy: ReconnectPolicy | undefined;
      readonly clock: Clock;
      readonly log: Logger;
      /** What the log lines name, e.g. { device } or { camera }. */
      readonly logContext: Readonly<Record<string, string>>;
      readonly events: Pick<LinkEvents, 'retrying'>;
    },
  ) {
    this.#backoff = new Backoff(options.policy ?? DEFAULT_RECONNECT);
  }

  /** The link is up again: backoff starts over; returns the outage it came back from, if any. */
  succeeded(): string | undefined {
    this.#backoff.reset();
    const outage = this.#outage;
    this.#outage = undefined;
    return outage;
  }

  /** Runs `attempt` after the next delay; `detail` says why, reported when it differs from the last. */
  retry(detail: string, attempt: () => void): void {
    const { clock, log, logContext, events } = this.options;
    const delay = this.#backoff.next();
    if (this.#outage !== detail) {
      this.#outage = detail;
      log.warn({ ...logContext, retryMs: delay }, detail);
      events.retrying?.(detail, delay);
    }
    this.#timer?.cancel();
    this.#timer = clock.setTimer(delay, () => {
      this.#timer = undefined;
      attempt();
    });
  }

  cancel(): void {
    this.#timer?.cancel();
    this.#timer = undefined;
  }
}
