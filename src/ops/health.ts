import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import type { Registry } from 'prom-client';
import type { Clock } from '../shared/clock.js';
import { gauge } from '../shared/metrics.js';

/**
 * Health is what the watchdog, /health and the status page agree on. Modules (or the gateway on
 * their behalf) register checks; a check marked critical means "restarting the process could fix
 * this" (a stalled main loop, a journal that cannot be written) and withholds the watchdog ping.
 * Hardware faults (a bollard that does not confirm) are not critical: a restart cannot fix them
 * and would only add a fail-mode cycle at the roadside.
 */
export interface HealthProbeResult {
  readonly ok: boolean;
  /** Short human text: what is wrong, or what is fine ("loop delay 3 ms"). */
  readonly detail: string;
}

export interface HealthCheck {
  readonly name: string;
  readonly critical: boolean;
  /** Synchronous and cheap: it runs on every watchdog tick and every /health request. */
  check(): HealthProbeResult;
}

export interface HealthCheckState extends HealthProbeResult {
  readonly name: string;
  readonly critical: boolean;
  /** ms epoch since the check has had its current ok value. */
  readonly since: number;
}

export type HealthStatus = 'ok' | 'degraded' | 'failing';

export interface HealthReport {
  readonly status: HealthStatus;
  readonly at: number;
  readonly checks: readonly HealthCheckState[];
}

export class Health {
  readonly #checks = new Map<string, HealthCheck>();
  readonly #since = new Map<string, { ok: boolean; since: number }>();
  readonly #gauge;

  constructor(private readonly deps: { clock: Clock; registry: Registry }) {
    this.#gauge = gauge(deps.registry, 'zonegate_health_check_ok', '1 when a health check passes, by check', [
      'check',
      'critical',
    ]);
  }

  /** Adds a check; returns a function that removes it. A second check with the same name replaces the first. */
  register(check: HealthCheck): () => void {
    this.#checks.set(check.name, check);
    return () => {
      if (this.#checks.get(check.name) === check) {
        this.#checks.delete(check.name);
        this.#since.delete(check.name);
        this.#gauge.remove({ check: check.name, critical: String(check.critical) });
      }
    };
  }

  evaluate(): HealthReport {
    const now = this.deps.clock.now();
    const checks: HealthCheckState[] = [];
    for (const c of this.#checks.values()) {
      let result: HealthProbeResult;
      try {
        result = c.check();
      } catch (err) {
        // A check that throws is a bug in the check, and the state it guards is unknown: failing.
        result = { ok: false, detail: `check failed: ${err instanceof Error ? err.message : String(err)}` };
      }
      const prev = this.#since.get(c.name);
      const since = prev && prev.ok === result.ok ? prev.since : now;
      this.#since.set(c.name, { ok: result.ok, since });
      this.#gauge.set({ check: c.name, critical: String(c.critical) }, result.ok ? 1 : 0);
      checks.push({ name: c.name, critical: c.critical, ok: result.ok, detail: result.detail, since });
    }
    const status: HealthStatus = checks.some((c) => c.critical && !c.ok)
      ? 'failing'
      : checks.some((c) => !c.ok)
        ? 'degraded'
        : 'ok';
    return { status, at: now, checks };
  }
}

/**
 * The main loop's responsiveness: a loop blocked longer than `maxDelayMs` (a synchronous disk
 * stall, a runaway computation) fails this critical check once it is running again, and keeps
 * failing it for `holdMs`. The hold is there because every reader (watchdog, /health, status page,
 * STATUS line) restarts the measurement: without it a /health poll between two watchdog ticks would
 * take the stall and let the next ping through. Held for a watchdog interval, every tick sees it.
 * While the loop is blocked nothing runs at all, which the watchdog notices by the missing pings.
 */
export function eventLoopCheck(options: {
  maxDelayMs: number;
  clock: Clock;
  holdMs: number;
  registry?: Registry;
}): HealthCheck & {
  close(): void;
} {
  const histogram: IntervalHistogram = monitorEventLoopDelay({ resolution: 20 });
  histogram.enable();
  const lag = options.registry
    ? gauge(options.registry, 'zonegate_event_loop_delay_max_seconds', 'Longest main-loop delay since the last check')
    : undefined;
  let stall: { ms: number; at: number } | undefined;
  return {
    name: 'event-loop',
    critical: true,
    check() {
      // The hold is an interval: on the steady clock, so an NTP step neither stretches nor ends it.
      const now = options.clock.monotonic();
      const maxMs = histogram.max / 1e6;
      histogram.reset();
      lag?.set(maxMs / 1000);
      if (maxMs > options.maxDelayMs) stall = { ms: maxMs, at: now };
      if (stall && now - stall.at < options.holdMs)
        return {
          ok: false,
          detail: `main loop stalled ${Math.round(stall.ms)} ms (limit ${options.maxDelayMs} ms)`,
        };
      stall = undefined;
      return { ok: true, detail: `loop delay at most ${Math.round(maxMs)} ms` };
    },
    close() {
      histogram.disable();
    },
  };
}
