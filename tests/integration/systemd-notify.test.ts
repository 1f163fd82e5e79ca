import { spawn } from 'node:child_process';
import { chmodSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Health, eventLoopCheck } from '../../src/ops/health.js';
import { SystemdNotifier, createWatchdog, watchdogIntervalMs } from '../../src/ops/notify.js';
import { commandRunner } from '../../src/ops/run-command.js';
import { ManualClock, systemClock } from '../../src/shared/clock.js';
import { silentLogger } from '../../src/shared/log.js';
import { Registry } from '../../src/shared/metrics.js';
import { repoRoot } from '../helpers/cli.js';
import { NotifySocket } from '../helpers/notify-socket.js';
import { tempDir } from '../helpers/tmp.js';

const dir = tempDir('zg-notify-');
let socket: NotifySocket;

beforeAll(async () => {
  socket = await NotifySocket.open(join(dir.path, 'notify.sock'));
  chmodSync(dir.path, 0o755);
  chmodSync(socket.path, 0o777);
});
afterAll(async () => {
  await socket.close();
  dir.remove();
});

let marks = 0;
/** Everything the notifier sent before this has been received (messages arrive in order). */
async function received(notifier: SystemdNotifier): Promise<void> {
  const mark = `mark ${++marks}`;
  await notifier.status(mark);
  await socket.waitFor((d) => d.fields['STATUS'] === mark);
}

async function metric(registry: Registry, name: string, labels: Record<string, string> = {}): Promise<number> {
  const m = await registry.getSingleMetric(name)?.get();
  const v = m?.values.find((x) => Object.entries(labels).every(([k, val]) => x.labels[k] === val));
  return v?.value ?? 0;
}

describe('systemd notify protocol against a real notify socket', () => {
  test('READY with a status line reaches systemd before the first watchdog ping, and pings repeat at half the interval', async () => {
    const registry = new Registry();
    const env = { NOTIFY_SOCKET: socket.path, WATCHDOG_USEC: '400000', WATCHDOG_PID: String(process.pid) };
    const notifier = SystemdNotifier.fromEnv(env, { registry, log: silentLogger });
    const health = new Health({ clock: systemClock, registry });
    health.register({ name: 'journal', critical: true, check: () => ({ ok: true, detail: 'writable' }) });
    const before = socket.received.length;
    expect(notifier.enabled).toBe(true);
    await notifier.ready('2 lanes, list v7');
    const intervalMs = watchdogIntervalMs(env);
    expect(intervalMs).toBe(400);
    const watchdog = createWatchdog({ notifier, health, clock: systemClock, registry, log: silentLogger, intervalMs });
    await watchdog.start();
    const t0 = Date.now();
    await socket.waitForCount((d) => d.fields['WATCHDOG'] === '1', 3, before);
    const elapsed = Date.now() - t0;
    await watchdog.stop();
    await notifier.flush();

    const mine = socket.received.slice(before).filter((d) => d.fields['BARRIER'] === undefined);
    expect(mine[0]!.fields).toEqual({ READY: '1', STATUS: '2 lanes, list v7' });
    expect(mine.slice(1).every((d) => d.fields['WATCHDOG'] === '1')).toBe(true);
    // Each message is followed by a barrier that systemd acknowledges by closing the passed fd.
    const barriers = socket.received.slice(before).filter((d) => d.fields['BARRIER'] === '1');
    expect(barriers.length).toBeGreaterThanOrEqual(mine.length);
    expect(barriers.every((b) => b.fds === 1)).toBe(true);
    // Run as root, systemd-notify sends with our pid as the credential; as the unprivileged service
    // user it cannot and sends with its own, which is why the unit says NotifyAccess=all.
    expect(mine[0]!.pid).not.toBeNull();
    // Three pings at a 200 ms period cannot come in less than ~400 ms.
    expect(elapsed).toBeGreaterThanOrEqual(350);
    expect(await metric(registry, 'zonegate_systemd_notify_total', { kind: 'watchdog' })).toBeGreaterThanOrEqual(3);
  });

  test('a failing critical check withholds the watchdog ping and says why in STATUS; pings resume when it recovers', async () => {
    const registry = new Registry();
    const notifier = SystemdNotifier.fromEnv({ NOTIFY_SOCKET: socket.path }, { registry, log: silentLogger });
    const health = new Health({ clock: systemClock, registry });
    let journalOk = true;
    health.register({
      name: 'journal',
      critical: true,
      check: () => (journalOk ? { ok: true, detail: 'writable' } : { ok: false, detail: 'disk I/O error' }),
    });
    health.register({ name: 'bollard', critical: false, check: () => ({ ok: false, detail: 'no position' }) });
    const watchdog = createWatchdog({
      notifier,
      health,
      clock: systemClock,
      registry,
      log: silentLogger,
      intervalMs: 1000,
    });
    const count = (): number => socket.messages().filter((d) => d.fields['WATCHDOG'] === '1').length;

    await received(notifier);
    const pings0 = count();
    await watchdog.tick();
    await received(notifier);
    expect(count()).toBe(pings0 + 1); // a non-critical failure (bollard) does not stop the pings

    journalOk = false;
    await watchdog.tick();
    await watchdog.tick();
    await received(notifier);
    expect(count()).toBe(pings0 + 1);
    const status = await socket.waitFor((d) => (d.fields['STATUS'] ?? '').includes('disk I/O error'));
    expect(status.fields['STATUS']).toBe('unhealthy: journal: disk I/O error');
    expect(socket.messages().filter((d) => (d.fields['STATUS'] ?? '').includes('disk I/O')).length).toBe(1);
    expect(await metric(registry, 'zonegate_watchdog_withheld_total', { check: 'journal' })).toBe(2);

    journalOk = true;
    await watchdog.tick();
    await received(notifier);
    expect(count()).toBe(pings0 + 2);
  });

  /** A loop blocked while the histogram's sampling timer is due, as a synchronous disk stall would. */
  async function stallTheLoop(ms: number): Promise<void> {
    await new Promise((r) => setTimeout(r, 60));
    const until = Date.now() + ms;
    while (Date.now() < until) {
      /* busy: the main loop is stuck */
    }
    await new Promise((r) => setTimeout(r, 60));
  }

  test('a main loop that stalled longer than the limit withholds the pings for one watchdog interval', async () => {
    const registry = new Registry();
    const notifier = SystemdNotifier.fromEnv({ NOTIFY_SOCKET: socket.path }, { registry, log: silentLogger });
    const health = new Health({ clock: systemClock, registry });
    const hold = new ManualClock();
    const loop = eventLoopCheck({ maxDelayMs: 150, clock: hold, holdMs: 1000, registry });
    health.register(loop);
    const watchdog = createWatchdog({
      notifier,
      health,
      clock: systemClock,
      registry,
      log: silentLogger,
      intervalMs: 1000,
    });
    const count = (): number => socket.messages().filter((d) => d.fields['WATCHDOG'] === '1').length;
    await received(notifier);
    const pings0 = count();
    await stallTheLoop(400);
    await watchdog.tick();
    await received(notifier);
    expect(count()).toBe(pings0);
    const status = await socket.waitFor((d) => (d.fields['STATUS'] ?? '').includes('main loop stalled'));
    expect(status.fields['STATUS']).toMatch(/^unhealthy: event-loop: main loop stalled \d+ ms \(limit 150 ms\)$/);
    hold.stepWall(-3_600_000); // NTP steps the clock back an hour: the hold still lasts one interval
    hold.advance(999);
    await watchdog.tick();
    await received(notifier);
    expect(count()).toBe(pings0);
    hold.advance(1);
    await watchdog.tick();
    await received(notifier);
    expect(count()).toBe(pings0 + 1);
    loop.close();
  });

  test('a stall that a /health request or the status page noticed first still withholds the next ping', async () => {
    const registry = new Registry();
    const notifier = SystemdNotifier.fromEnv({ NOTIFY_SOCKET: socket.path }, { registry, log: silentLogger });
    const health = new Health({ clock: systemClock, registry });
    const loop = eventLoopCheck({ maxDelayMs: 150, clock: systemClock, holdMs: 60_000, registry });
    health.register(loop);
    const watchdog = createWatchdog({
      notifier,
      health,
      clock: systemClock,
      registry,
      log: silentLogger,
      intervalMs: 1000,
    });
    const count = (): number => socket.messages().filter((d) => d.fields['WATCHDOG'] === '1').length;
    await received(notifier);
    const pings0 = count();
    await stallTheLoop(400);
    // Another reader evaluates health between two watchdog ticks.
    expect(health.evaluate().status).toBe('failing');
    await watchdog.tick();
    await received(notifier);
    expect(count()).toBe(pings0);
    expect(await metric(registry, 'zonegate_watchdog_withheld_total', { check: 'event-loop' })).toBe(1);
    loop.close();
  });

  test('STOPPING is sent on shutdown; a notify socket that is gone is counted, not thrown', async () => {
    const registry = new Registry();
    const notifier = SystemdNotifier.fromEnv({ NOTIFY_SOCKET: socket.path }, { registry, log: silentLogger });
    await notifier.stopping('shutting down: SIGTERM');
    await socket.waitFor((d) => d.fields['STOPPING'] === '1' && d.fields['STATUS'] === 'shutting down: SIGTERM');

    const lost = SystemdNotifier.fromEnv(
      { NOTIFY_SOCKET: join(dir.path, 'nobody.sock') },
      { registry, log: silentLogger },
    );
    await expect(lost.watchdog()).resolves.toBeUndefined();
    expect(await metric(registry, 'zonegate_systemd_notify_failures_total', { kind: 'watchdog' })).toBe(1);
  });

  test('as an unprivileged service user the notification still arrives, sent by a child process (NotifyAccess=all)', async () => {
    const script = `
      import { SystemdNotifier } from './src/ops/notify.ts';
      import { Registry } from 'prom-client';
      import { silentLogger } from './src/shared/log.ts';
      const n = SystemdNotifier.fromEnv(process.env, { registry: new Registry(), log: silentLogger });
      await n.ready('unprivileged ' + process.pid);
      await n.flush();
      console.log(process.pid);
    `;
    const child = spawn(
      'setpriv',
      [
        '--reuid=65534',
        '--regid=65534',
        '--clear-groups',
        process.execPath,
        '--import',
        'tsx',
        '--input-type=module',
        '-e',
        script,
      ],
      {
        cwd: repoRoot,
        env: { ...process.env, NOTIFY_SOCKET: socket.path, HOME: '/tmp' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((r) => child.once('close', r));
    expect(code, err).toBe(0);
    const pid = Number(out.trim());
    const d = await socket.waitFor((x) => x.fields['STATUS'] === `unprivileged ${pid}`);
    expect(d.fields['READY']).toBe('1');
    expect(d.pid).not.toBe(pid);
  });

  test('a systemd tool the gateway runs as a check cannot speak for it on the notify socket', async () => {
    const before = socket.received.length;
    const run = commandRunner({ env: { ...process.env, NOTIFY_SOCKET: socket.path } });
    // systemd tools report ERRNO= to NOTIFY_SOCKET when they fail; the runner does not pass it on.
    await run('systemd-notify', ['STATUS=leaked from a child']);
    const registry = new Registry();
    const notifier = SystemdNotifier.fromEnv({ NOTIFY_SOCKET: socket.path }, { registry, log: silentLogger });
    await received(notifier);
    expect(socket.received.slice(before).some((d) => d.text.includes('leaked'))).toBe(false);
  });

  test('outside systemd (no NOTIFY_SOCKET, no WATCHDOG_USEC for this pid) nothing is sent', async () => {
    const registry = new Registry();
    const before = socket.received.length;
    const notifier = SystemdNotifier.fromEnv({}, { registry, log: silentLogger });
    expect(notifier.enabled).toBe(false);
    await notifier.ready('x');
    expect(watchdogIntervalMs({ WATCHDOG_USEC: '20000000', WATCHDOG_PID: String(process.pid + 1) })).toBeUndefined();
    expect(watchdogIntervalMs({})).toBeUndefined();
    expect(watchdogIntervalMs({ WATCHDOG_USEC: 'garbage' })).toBeUndefined();
    expect(socket.received.length).toBe(before);
  });

  test('a newline in a status text cannot inject another assignment', async () => {
    const registry = new Registry();
    const notifier = SystemdNotifier.fromEnv({ NOTIFY_SOCKET: socket.path }, { registry, log: silentLogger });
    await notifier.status('fault on lane in-1\nWATCHDOG=1');
    const d = await socket.waitFor((x) => (x.fields['STATUS'] ?? '').startsWith('fault on lane in-1'));
    expect(d.fields).toEqual({ STATUS: 'fault on lane in-1 WATCHDOG=1' });
  });
});
