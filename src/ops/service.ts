import type { Registry } from 'prom-client';
import type { SiteConfig } from '../config/schema.js';
import type { Clock, TimerHandle } from '../shared/clock.js';
import type { Lifecycle } from '../shared/lifecycle.js';
import type { Logger } from '../shared/log.js';
import { createClockMonitor, type ClockMonitor } from './clock-monitor.js';
import type { CheckResult } from './doctor/types.js';
import { eventLoopCheck, type Health } from './health.js';
import { SystemdNotifier, createWatchdog, watchdogIntervalMs, type NotifyTransport } from './notify.js';
import { commandRunner, type CommandRunner } from './run-command.js';
import type { StatusSnapshot, StatusSource } from './status-model.js';
import { createStatusServer, type StatusServer } from './status-server.js';

export interface OpsServiceDeps {
  readonly site: SiteConfig;
  readonly registry: Registry;
  readonly log: Logger;
  readonly clock: Clock;
  readonly statusSource: StatusSource;
  /** The gateway's health registry; the service adds the event-loop and clock checks to it. */
  readonly health: Health;
  /**
   * NOTIFY_SOCKET, WATCHDOG_USEC, WATCHDOG_PID; process.env by default. Taken from process.env,
   * they are removed from it, so that no child process inherits them.
   */
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly run?: CommandRunner;
  /** Replaces the systemd-notify transport (tests); undefined keeps the one from env. */
  readonly notifyTransport?: NotifyTransport;
  /** Clock changes (journal them as fault events); see createClockMonitor. */
  readonly onClockChange?: (verdict: CheckResult) => void;
  /** How often STATUS= is refreshed from the snapshot when it changed (default 30 s). */
  readonly statusIntervalMs?: number;
}

export interface OpsService {
  /** Start in this order with startAll (status page, clock monitor); the watchdog starts in ready(). */
  readonly modules: readonly Lifecycle[];
  readonly notifier: SystemdNotifier;
  readonly statusServer: StatusServer;
  readonly clockMonitor: ClockMonitor;
  /** The gateway decides now: READY=1 with a status line, then watchdog pings while healthy. */
  ready(): Promise<void>;
  /** STOPPING=1 with the reason; stops the watchdog and the STATUS refresh. */
  stopping(reason: string): Promise<void>;
}

/** One line for `systemctl status zonegate`. */
export function statusLine(s: StatusSnapshot): string {
  const bollards = s.lanes.filter((l) => l.bollard).map((l) => `${l.id} ${l.bollard!.state}`);
  const age = s.list.ageSeconds === undefined ? 'age unknown' : `${(s.list.ageSeconds / 3600).toFixed(1)} h`;
  return [
    `${s.lanes.length} lane${s.lanes.length === 1 ? '' : 's'}${bollards.length ? ` (${bollards.join(', ')})` : ''}`,
    `list v${s.list.version} ${age}${s.list.stale ? ' STALE' : ''}`,
    `uplink ${s.uplink.connected ? 'up' : 'down'}, backlog ${s.uplink.backlog}`,
    ...(s.health ? [`health ${s.health.status}`] : []),
  ].join('; ');
}

/**
 * The operations side of a running gateway in one object: the status page (with /metrics and
 * /health), the event-loop and clock health checks, the systemd notifier and watchdog, and a
 * STATUS= line kept current. The gateway creates it with its registry, health and status
 * source, starts `modules`, calls `ready()` once the pipeline decides, and `stopping()` first
 * on shutdown.
 */
export function createOpsService(deps: OpsServiceDeps): OpsService {
  const env = { ...(deps.env ?? process.env) };
  if (deps.env === undefined || deps.env === process.env) {
    // As sd_notify(unset_environment=1): child processes (ffmpeg, timedatectl, python) must not
    // inherit the socket, or systemd tools among them report their own ERRNO= as ours.
    for (const k of ['NOTIFY_SOCKET', 'WATCHDOG_USEC', 'WATCHDOG_PID']) delete process.env[k];
  }
  const notifier = deps.notifyTransport
    ? new SystemdNotifier({ transport: deps.notifyTransport, registry: deps.registry, log: deps.log })
    : SystemdNotifier.fromEnv(env, { registry: deps.registry, log: deps.log });
  const watchdogMs = watchdogIntervalMs(env);
  const loop = eventLoopCheck({
    maxDelayMs: deps.site.ops.watchdog.maxEventLoopDelayMs,
    clock: deps.clock,
    // A stall stays visible for one watchdog interval (without systemd, the unit's WatchdogSec).
    holdMs: watchdogMs ?? 20_000,
    registry: deps.registry,
  });
  const removeLoop = deps.health.register(loop);
  const clockMonitor = createClockMonitor({
    run: deps.run ?? commandRunner(),
    clock: deps.clock,
    policy: deps.site.ops.clock,
    registry: deps.registry,
    log: deps.log,
    onChange: (verdict) => deps.onClockChange?.(verdict),
  });
  const removeClock = deps.health.register(clockMonitor.health);
  const statusServer = createStatusServer({
    config: deps.site.status,
    registry: deps.registry,
    statusSource: deps.statusSource,
    log: deps.log,
    health: deps.health,
    clock: deps.clock,
  });
  let refresh: TimerHandle | undefined;
  let lastLine = '';
  let live = false;
  const watchdog = createWatchdog({
    notifier,
    health: deps.health,
    clock: deps.clock,
    registry: deps.registry,
    log: deps.log,
    intervalMs: watchdogMs,
    healthyStatus: () => (lastLine = statusLine(deps.statusSource.snapshot())),
  });
  const scheduleRefresh = (): void => {
    if (!live || !notifier.enabled) return;
    refresh = deps.clock.setTimer(deps.statusIntervalMs ?? 30_000, () => {
      const line = statusLine(deps.statusSource.snapshot());
      if (line !== lastLine) {
        lastLine = line;
        void notifier.status(line);
      }
      scheduleRefresh();
    });
  };
  const cleanup: Lifecycle = {
    name: 'ops-health-checks',
    async start() {},
    async stop() {
      live = false;
      refresh?.cancel();
      await watchdog.stop();
      removeLoop();
      removeClock();
      loop.close();
    },
  };
  return {
    modules: [cleanup, statusServer, clockMonitor],
    notifier,
    statusServer,
    clockMonitor,
    async ready() {
      lastLine = statusLine(deps.statusSource.snapshot());
      await notifier.ready(lastLine);
      live = true;
      await watchdog.start();
      scheduleRefresh();
    },
    async stopping(reason) {
      live = false;
      refresh?.cancel();
      await watchdog.stop();
      await notifier.stopping(reason);
    },
  };
}
