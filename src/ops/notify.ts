import { spawn } from 'node:child_process';
import type { Registry } from 'prom-client';
import type { Clock, TimerHandle } from '../shared/clock.js';
import type { Logger } from '../shared/log.js';
import { counter } from '../shared/metrics.js';
import type { Lifecycle } from '../shared/lifecycle.js';
import type { Health } from './health.js';

/**
 * The sd_notify protocol (READY=1, WATCHDOG=1, STATUS=…, STOPPING=1) from Node without a native
 * module. Node's dgram has no AF_UNIX datagram sockets, so each message is handed to systemd's own
 * `systemd-notify` binary. That binary (systemd >= 246) waits on a notification barrier until PID 1
 * has processed the message, so the short-lived sender cannot exit before systemd attributed it
 * to our unit, the race that makes naive helper processes unreliable. Because the sender is a child
 * of the main process, the unit needs NotifyAccess=all (systemd/zonegate.service sets it).
 */
export interface NotifyTransport {
  /** Sends one notification made of `KEY=value` assignments; resolves when systemd took it. */
  send(assignments: readonly string[]): Promise<void>;
}

export interface SystemdNotifyEnv {
  readonly NOTIFY_SOCKET?: string | undefined;
  readonly WATCHDOG_USEC?: string | undefined;
  readonly WATCHDOG_PID?: string | undefined;
}

/** Runs `systemd-notify KEY=value…` against the socket in `notifySocket`. */
export function systemdNotifyTransport(
  notifySocket: string,
  options: { binary?: string; timeoutMs?: number } = {},
): NotifyTransport {
  const binary = options.binary ?? 'systemd-notify';
  const timeoutMs = options.timeoutMs ?? 10_000;
  return {
    send(assignments) {
      return new Promise((resolve, reject) => {
        const child = spawn(binary, [...assignments], {
          env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', NOTIFY_SOCKET: notifySocket },
          stdio: ['ignore', 'ignore', 'pipe'],
        });
        let stderr = '';
        child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
        const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
        child.once('error', (err) => {
          clearTimeout(timer);
          reject(new Error(`cannot run ${binary}: ${err.message}`));
        });
        child.once('close', (code, signal) => {
          clearTimeout(timer);
          if (code === 0) resolve();
          else
            reject(
              new Error(
                `${binary} ${signal ? `killed by ${signal}` : `exited ${code}`}${stderr ? `: ${stderr.trim()}` : ''}`,
              ),
            );
        });
      });
    },
  };
}

/** Notification text is one line per assignment: newlines inside a value would start a new key. */
function clean(value: string): string {
  return value.replace(/[\r\n]+/g, ' ').slice(0, 400);
}

export interface NotifierDeps {
  /** undefined: not started by systemd (NOTIFY_SOCKET unset); every call is a no-op. */
  readonly transport: NotifyTransport | undefined;
  readonly registry: Registry;
  readonly log: Logger;
}

/**
 * Talks to the service manager. Messages are sent one at a time in order (READY before the first
 * WATCHDOG); a failed send is logged and counted, never thrown: losing systemd must not stop the
 * gateway from deciding.
 */
export class SystemdNotifier {
  readonly enabled: boolean;
  #chain: Promise<void> = Promise.resolve();
  readonly #sent;
  readonly #failed;

  constructor(private readonly deps: NotifierDeps) {
    this.enabled = deps.transport !== undefined;
    this.#sent = counter(deps.registry, 'zonegate_systemd_notify_total', 'Notifications sent to systemd, by kind', [
      'kind',
    ]);
    this.#failed = counter(
      deps.registry,
      'zonegate_systemd_notify_failures_total',
      'Notifications systemd did not take, by kind',
      ['kind'],
    );
  }

  /** Builds the notifier from the environment systemd gives a Type=notify service. */
  static fromEnv(env: SystemdNotifyEnv, deps: Omit<NotifierDeps, 'transport'>): SystemdNotifier {
    const socket = env.NOTIFY_SOCKET;
    return new SystemdNotifier({ ...deps, transport: socket ? systemdNotifyTransport(socket) : undefined });
  }

  ready(status?: string): Promise<void> {
    return this.#send('ready', ['READY=1', ...(status ? [`STATUS=${clean(status)}`] : [])]);
  }

  watchdog(): Promise<void> {
    return this.#send('watchdog', ['WATCHDOG=1']);
  }

  status(text: string): Promise<void> {
    return this.#send('status', [`STATUS=${clean(text)}`]);
  }

  stopping(status?: string): Promise<void> {
    return this.#send('stopping', ['STOPPING=1', ...(status ? [`STATUS=${clean(status)}`] : [])]);
  }

  /** Resolves when every message queued so far has been handed over (or has failed). */
  flush(): Promise<void> {
    return this.#chain;
  }

  #send(kind: string, assignments: string[]): Promise<void> {
    const transport = this.deps.transport;
    if (!transport) return Promise.resolve();
    this.#chain = this.#chain.then(() =>
      transport.send(assignments).then(
        () => void this.#sent.inc({ kind }),
        (err: unknown) => {
          this.#failed.inc({ kind });
          this.deps.log.warn({ err: String(err), kind }, 'systemd notification failed');
        },
      ),
    );
    return this.#chain;
  }
}

/**
 * The watchdog interval systemd asks for, or undefined when it asks for none (or asks another
 * process, per WATCHDOG_PID). Pings go out at half the interval, as sd_watchdog_enabled advises.
 */
export function watchdogIntervalMs(env: SystemdNotifyEnv, pid: number = process.pid): number | undefined {
  const usec = Number(env.WATCHDOG_USEC);
  if (!env.WATCHDOG_USEC || !Number.isFinite(usec) || usec <= 0) return undefined;
  if (env.WATCHDOG_PID && Number(env.WATCHDOG_PID) !== pid) return undefined;
  return Math.max(1, Math.floor(usec / 1000));
}

export interface WatchdogDeps {
  readonly notifier: SystemdNotifier;
  readonly health: Health;
  readonly clock: Clock;
  readonly registry: Registry;
  readonly log: Logger;
  /** WatchdogSec in ms (from watchdogIntervalMs); undefined disables the watchdog. */
  readonly intervalMs: number | undefined;
  /** The STATUS= line that replaces "unhealthy: …" once the critical checks pass again. */
  readonly healthyStatus?: () => string;
}

/**
 * Pings systemd's watchdog only while the gateway is healthy: a check marked critical that fails
 * (the main loop stalled, the journal cannot be written) withholds the ping, so systemd restarts
 * the service after WatchdogSec and the bollard falls back to its configured fail mode. The ping
 * timer itself runs on the main loop, so a hung loop sends nothing either.
 */
export function createWatchdog(deps: WatchdogDeps): Lifecycle & { tick(): Promise<void> } {
  let timer: TimerHandle | undefined;
  let running = false;
  let withheld: string | undefined;
  const pings = counter(deps.registry, 'zonegate_watchdog_pings_total', 'Watchdog pings sent to systemd');
  const skipped = counter(
    deps.registry,
    'zonegate_watchdog_withheld_total',
    'Watchdog pings withheld because a critical health check failed, by check',
    ['check'],
  );
  const period = deps.intervalMs === undefined ? undefined : Math.max(1, Math.floor(deps.intervalMs / 2));

  const tick = async (): Promise<void> => {
    const report = deps.health.evaluate();
    const failing = report.checks.filter((c) => c.critical && !c.ok);
    if (failing.length === 0) {
      if (withheld) {
        deps.log.info('health recovered; watchdog pings resume');
        // Else `systemctl status` would go on saying "unhealthy" until the status line changes.
        if (deps.healthyStatus) await deps.notifier.status(deps.healthyStatus());
      }
      withheld = undefined;
      pings.inc();
      await deps.notifier.watchdog();
      return;
    }
    const summary = failing.map((c) => `${c.name}: ${c.detail}`).join('; ');
    for (const c of failing) skipped.inc({ check: c.name });
    if (withheld !== summary) {
      deps.log.error({ failing: failing.map((c) => c.name) }, `watchdog ping withheld: ${summary}`);
      await deps.notifier.status(`unhealthy: ${summary}`);
    }
    withheld = summary;
  };

  const schedule = (): void => {
    if (!running || period === undefined) return;
    timer = deps.clock.setTimer(period, () => {
      void tick().finally(schedule);
    });
  };

  return {
    name: 'watchdog',
    tick,
    async start() {
      if (running) return;
      running = true;
      if (period === undefined) return;
      deps.log.info({ intervalMs: deps.intervalMs }, 'systemd watchdog enabled');
      schedule();
    },
    async stop() {
      running = false;
      timer?.cancel();
      timer = undefined;
    },
  };
}
