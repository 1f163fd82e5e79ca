import type { Registry } from 'prom-client';
import type { OpsConfig } from '../config/schema.js';
import type { Clock, TimerHandle } from '../shared/clock.js';
import type { Lifecycle } from '../shared/lifecycle.js';
import type { Logger } from '../shared/log.js';
import { gauge } from '../shared/metrics.js';
import { judgeClock, probeClockSync, type ClockFacts } from './clock-sync.js';
import type { CheckResult } from './doctor/types.js';
import type { HealthCheck } from './health.js';
import type { CommandRunner } from './run-command.js';

export interface ClockMonitorDeps {
  readonly run: CommandRunner;
  readonly clock: Clock;
  readonly policy: OpsConfig['clock'];
  readonly registry: Registry;
  readonly log: Logger;
  /** How often the time sources are asked (default 60 s; the probe runs tools, off the hot path). */
  readonly intervalMs?: number;
  /**
   * Called when the verdict changes (and once after the first probe): the gateway journals a
   * `fault` event (`clock-unsynchronized`) or its recovery and lists it on the status page.
   */
  readonly onChange?: (verdict: CheckResult, facts: ClockFacts) => void;
}

export interface ClockMonitor extends Lifecycle {
  /** Non-critical: a restart cannot synchronise a clock, so it never withholds the watchdog. */
  readonly health: HealthCheck;
  /** The last verdict, undefined before the first probe finished. */
  verdict(): CheckResult | undefined;
  /** Probes now (start() does this once before it returns). */
  probe(): Promise<CheckResult>;
}

/**
 * Watches clock synchronisation while the gateway runs. The site's policy (ops.clock.unsynchronized)
 * decides whether an unsynchronised clock is a fault (health degraded, fault journaled and shown)
 * or only a warning; decisions carry on either way, as the decision path never waits for NTP.
 */
export function createClockMonitor(deps: ClockMonitorDeps): ClockMonitor {
  const synced = gauge(
    deps.registry,
    'zonegate_clock_synchronized',
    '1 when the wall clock is synchronised, 0 when not, -1 when no time source answers',
  );
  let last: CheckResult | undefined;
  let timer: TimerHandle | undefined;
  let running = false;

  const probe = async (): Promise<CheckResult> => {
    const facts = await probeClockSync(deps.run);
    const verdict = judgeClock(facts, deps.policy);
    synced.set(facts.synchronized === undefined ? -1 : facts.synchronized ? 1 : 0);
    const changed = last?.status !== verdict.status;
    last = verdict;
    if (changed) {
      if (verdict.status === 'pass') deps.log.info({ source: facts.source }, `clock: ${verdict.detail}`);
      else deps.log.warn({ source: facts.source, policy: deps.policy.unsynchronized }, `clock: ${verdict.detail}`);
      deps.onChange?.(verdict, facts);
    }
    return verdict;
  };
  const schedule = (): void => {
    if (!running) return;
    timer = deps.clock.setTimer(deps.intervalMs ?? 60_000, () => {
      probe()
        .catch((err: unknown) => deps.log.error({ err: String(err) }, 'clock probe failed'))
        .finally(schedule);
    });
  };
  return {
    name: 'clock-monitor',
    health: {
      name: 'clock',
      critical: false,
      check: () =>
        last === undefined
          ? { ok: true, detail: 'not probed yet' }
          : { ok: last.status !== 'fail', detail: last.detail },
    },
    verdict: () => last,
    probe,
    async start() {
      if (running) return;
      running = true;
      await probe();
      schedule();
    },
    async stop() {
      running = false;
      timer?.cancel();
      timer = undefined;
    },
  };
}
