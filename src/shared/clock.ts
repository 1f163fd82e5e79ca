/**
 * Time is injected so that windows, DST changes, debounce and timeouts can be tested exactly.
 * Logic reads the clock; only the system clock touches the real time.
 *
 * Two readings, for two different questions:
 * - `now()` is the wall clock: what time it is (time windows, timestamps in the journal, list
 *   ages). It can jump: a Raspberry Pi has no real-time clock, so after a boot or a power cut it
 *   runs from a saved time until NTP steps it, by hours or days, forwards or backwards.
 * - `monotonic()` is a steady clock: how long something took or how long to wait (deadlines,
 *   timeouts, hold times, clearance). It never jumps; its origin means nothing.
 * An interval measured with `now()` is wrong by the size of any step in between.
 */
export interface TimerHandle {
  cancel(): void;
}

export interface Clock {
  /** Milliseconds since the Unix epoch (wall clock; decisions use it for time windows). */
  now(): number;
  /** Milliseconds on a steady clock that never steps (for intervals and deadlines; origin arbitrary). */
  monotonic(): number;
  /** Schedules `fn` after `ms` milliseconds of steady (monotonic) time. */
  setTimer(ms: number, fn: () => void): TimerHandle;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  // performance.now() runs on CLOCK_MONOTONIC, like Node's timers: NTP steps do not move it.
  monotonic: () => performance.now(),
  setTimer(ms, fn) {
    const t = setTimeout(fn, ms);
    t.unref?.();
    return { cancel: () => clearTimeout(t) };
  },
};

/**
 * A clock that moves only when told to; due timers fire in order inside `advance`. Its timers
 * run on its monotonic time; `stepWall` moves the wall clock alone, as NTP does.
 */
export class ManualClock implements Clock {
  #now: number;
  #mono: number;
  #seq = 0;
  #timers = new Map<number, { at: number; fn: () => void }>();

  constructor(start = Date.UTC(2026, 0, 5, 9, 0, 0), monotonicStart = 0) {
    this.#now = start;
    this.#mono = monotonicStart;
  }

  now(): number {
    return this.#now;
  }

  monotonic(): number {
    return this.#mono;
  }

  setTimer(ms: number, fn: () => void): TimerHandle {
    const id = ++this.#seq;
    this.#timers.set(id, { at: this.#mono + Math.max(0, ms), fn });
    return { cancel: () => void this.#timers.delete(id) };
  }

  /** Time passes: both readings move forward by `ms`, firing every timer that falls due on the way, in time order. */
  advance(ms: number): void {
    const end = this.#mono + ms;
    for (;;) {
      let nextId = -1;
      let nextAt = Infinity;
      for (const [id, t] of this.#timers) {
        if (t.at <= end && (t.at < nextAt || (t.at === nextAt && id < nextId))) {
          nextAt = t.at;
          nextId = id;
        }
      }
      if (nextId < 0) break;
      const t = this.#timers.get(nextId)!;
      this.#timers.delete(nextId);
      this.#moveTo(Math.max(this.#mono, t.at));
      t.fn();
    }
    this.#moveTo(end);
  }

  /** Advances until the wall clock reads `at` (never backwards: use `stepWall` for that). */
  set(at: number): void {
    if (at < this.#now) throw new Error('ManualClock cannot go backwards');
    this.advance(at - this.#now);
  }

  /**
   * Steps the wall clock alone by `ms` (negative: backwards), as NTP does after a boot without a
   * real-time clock. No time passes: the monotonic reading stays and no timer fires.
   */
  stepWall(ms: number): void {
    this.#now += ms;
  }

  get pendingTimers(): number {
    return this.#timers.size;
  }

  #moveTo(mono: number): void {
    this.#now += mono - this.#mono;
    this.#mono = mono;
  }
}
