import type { Clock, TimerHandle } from '../shared/clock.js';
import type { Lifecycle } from '../shared/lifecycle.js';
import type { Logger } from '../shared/log.js';
import { EVENT_TYPES, zeroCounts, type CountsByType, type Journal, type RetentionPolicy } from './types.js';

export interface RetentionPurgerDeps {
  readonly journal: Journal;
  /** Retention per event type in ms (see retentionFromConfig). */
  readonly retention: RetentionPolicy;
  readonly clock: Clock;
  readonly log: Logger;
  /** How often the purge runs (default hourly); it also runs once at start. */
  readonly intervalMs?: number;
  /**
   * 'keep' (default): undelivered entries wait for the region whatever their age. 'expire': they
   * go at their retention too — for a gateway without an uplink, whose entries are never delivered.
   */
  readonly undelivered?: 'keep' | 'expire';
}

export interface RetentionPurger extends Lifecycle {
  /** Purges everything that is due now, in slices that let the event loop breathe; returns what went. */
  runOnce(): Promise<CountsByType>;
}

/**
 * Rows per slice: small enough that one slice never holds up a read for long (the journal zeroes
 * what it deletes, which about doubles the cost of a delete).
 */
const SLICE_ROWS = 1_000;

/**
 * Enforces local retention: acknowledged entries older than their type's retention are deleted.
 * Undelivered entries are kept whatever their age (the region has not got them yet; the disk
 * budget bounds them instead), unless there is no region to wait for (`undelivered: 'expire'`).
 */
export function createRetentionPurger(deps: RetentionPurgerDeps): RetentionPurger {
  const intervalMs = deps.intervalMs ?? 3_600_000;
  const log = deps.log.child({ module: 'retention' });
  let timer: TimerHandle | undefined;
  let running: Promise<CountsByType> | undefined;
  // True while a run is still purging (running stays set until its promise settles).
  let busy = false;
  let stopped = true;
  let stopping = false;

  const runOnce = (): Promise<CountsByType> => {
    if (running && busy) return running;
    busy = true;
    const run = (async () => {
      const total = zeroCounts();
      try {
        for (;;) {
          const now = deps.clock.now();
          const { deleted, more } = deps.journal.purge(deps.retention, now, SLICE_ROWS, deps.undelivered);
          for (const type of EVENT_TYPES) total[type] += deleted[type];
          if (!more || stopping) break;
          await new Promise((resolve) => setImmediate(resolve));
        }
        if (Object.values(total).some((n) => n > 0)) log.info({ deleted: total }, 'retention purge');
      } catch (err) {
        log.error({ err }, 'retention purge failed; retrying at the next interval');
      }
      busy = false;
      return total;
    })();
    running = run;
    void run.finally(() => {
      if (running === run) running = undefined;
    });
    return run;
  };

  const schedule = (): void => {
    if (stopped) return;
    timer = deps.clock.setTimer(intervalMs, () => {
      void runOnce().finally(schedule);
    });
  };

  return {
    name: 'retention-purge',
    async start() {
      stopped = false;
      stopping = false;
      await runOnce();
      schedule();
    },
    async stop() {
      stopped = true;
      stopping = true;
      timer?.cancel();
      timer = undefined;
      await running;
    },
    runOnce,
  };
}
