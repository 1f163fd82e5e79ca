import type { Clock, TimerHandle } from '../shared/clock.js';

/**
 * Debounces one binary input from raw samples taken at any moment (an interrupt, a scan). A
 * change is accepted once a sample taken `ms` after it still shows it; a sample showing the old
 * level in between cancels it (a bounce). A change to the level in `immediateLevel` is accepted
 * at once: for inputs whose active level only ever makes the controller more careful.
 */
export class InputDebouncer {
  #stable: boolean;
  #candidate: boolean | undefined;
  #timer: TimerHandle | undefined;

  constructor(
    initial: boolean,
    private readonly deps: {
      readonly clock: Clock;
      readonly ms: number;
      readonly immediateLevel?: boolean;
      /** Reads the raw level again when the debounce time is up. */
      readonly read: () => boolean;
      readonly onChange: (level: boolean) => void;
      readonly onBounce?: () => void;
    },
  ) {
    this.#stable = initial;
  }

  get level(): boolean {
    return this.#stable;
  }

  sample(raw: boolean): void {
    if (raw === this.#stable) {
      if (this.#candidate !== undefined) {
        this.#cancel();
        this.deps.onBounce?.();
      }
      return;
    }
    if (this.deps.ms === 0 || raw === this.deps.immediateLevel) {
      this.#cancel();
      this.#accept(raw);
      return;
    }
    if (this.#candidate === raw) return;
    this.#candidate = raw;
    this.#timer = this.deps.clock.setTimer(this.deps.ms, () => {
      this.#timer = undefined;
      const wanted = this.#candidate;
      this.#candidate = undefined;
      let now: boolean;
      try {
        now = this.deps.read();
      } catch {
        return;
      }
      // The candidate is always the other level than the stable one: anything else is a bounce.
      if (now === wanted) this.#accept(now);
      else this.deps.onBounce?.();
    });
  }

  dispose(): void {
    this.#cancel();
  }

  #cancel(): void {
    this.#timer?.cancel();
    this.#timer = undefined;
    this.#candidate = undefined;
  }

  #accept(level: boolean): void {
    this.#stable = level;
    this.deps.onChange(level);
  }
}
