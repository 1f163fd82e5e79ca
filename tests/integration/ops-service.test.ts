import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { parseSiteConfig } from '../../src/config/index.js';
import { Health } from '../../src/ops/health.js';
import { createOpsService } from '../../src/ops/service.js';
import { StatusBoard } from '../../src/ops/status-board.js';
import { systemClock } from '../../src/shared/clock.js';
import { startAll } from '../../src/shared/lifecycle.js';
import { silentLogger } from '../../src/shared/log.js';
import { Registry } from '../../src/shared/metrics.js';
import { NotifySocket } from '../helpers/notify-socket.js';
import { tempDir } from '../helpers/tmp.js';

const dir = tempDir('zg-ops-service-');
let socket: NotifySocket;
beforeAll(async () => {
  socket = await NotifySocket.open(join(dir.path, 'notify.sock'));
});
afterAll(async () => {
  await socket.close();
  dir.remove();
});

const site = parseSiteConfig(
  `gateway: { id: gw-ops-1, site: Ops test, municipality: '0363', zone: z-a }
dataDir: ${dir.path}
lanes: [{ id: in-1, bollard: { driver: simulator } }, { id: in-2 }]
sources:
  - { id: cam-1, kind: serial, lane: in-1, device: /dev/ttyUSB0 }
  - { id: cam-2, kind: serial, lane: in-2, device: /dev/ttyUSB1 }
status: { listen: 127.0.0.1, port: 0, token: ops-service-token-0001 }
ops: { clock: { unsynchronized: warn } }`,
  'site.yaml',
);

describe('the operations service of a running gateway under systemd', () => {
  test('READY carries a status line, the watchdog pings, STATUS follows changes, STOPPING ends it; the page serves meanwhile', async () => {
    const registry = new Registry();
    const health = new Health({ clock: systemClock, registry });
    const board = new StatusBoard({ site, clock: systemClock, versions: { zonegate: 'test' }, health });
    const ops = createOpsService({
      site,
      registry,
      log: silentLogger,
      clock: systemClock,
      statusSource: board,
      health,
      env: { NOTIFY_SOCKET: socket.path, WATCHDOG_USEC: '300000' },
      statusIntervalMs: 50,
    });
    const stopAll = await startAll(ops.modules);
    const from = socket.received.length;
    board.list({ version: 7, publishedAt: Date.now() - 7_200_000 });
    await ops.ready();
    const ready = await socket.waitFor((d) => d.fields['READY'] === '1');
    expect(ready.fields['STATUS']).toBe('2 lanes (in-1 idle-up); list v7 2.0 h; uplink down, backlog 0; health ok');
    await socket.waitForCount((d) => d.fields['WATCHDOG'] === '1', 2, from);

    board.uplink({ connected: true, backlog: 12 });
    const changed = await socket.waitFor((d) => (d.fields['STATUS'] ?? '').includes('uplink up, backlog 12'));
    expect(changed.fields['STATUS']).toContain('list v7');

    const port = ops.statusServer.address()!.port;
    const healthRes = await fetch(`http://127.0.0.1:${port}/health`);
    expect(await healthRes.json()).toEqual({ status: 'ok' });
    const detail = (await (
      await fetch(`http://127.0.0.1:${port}/api/health`, {
        headers: { authorization: 'Bearer ops-service-token-0001' },
      })
    ).json()) as { checks: Array<{ name: string; critical: boolean }> };
    expect(detail.checks.map((c) => [c.name, c.critical])).toEqual([
      ['event-loop', true],
      ['clock', false],
    ]);

    await ops.stopping('shutting down: SIGTERM');
    await socket.waitFor((d) => d.fields['STOPPING'] === '1');
    const pingsAtStop = socket.received.filter((d) => d.fields['WATCHDOG'] === '1').length;
    await stopAll();
    await new Promise((r) => setTimeout(r, 400));
    expect(socket.received.filter((d) => d.fields['WATCHDOG'] === '1').length).toBe(pingsAtStop);
    await expect(fetch(`http://127.0.0.1:${port}/health`)).rejects.toThrow();
    expect(health.evaluate().checks).toEqual([]);
  });

  test('once a failing critical check passes again, systemctl status shows the status line instead of "unhealthy"', async () => {
    const registry = new Registry();
    const health = new Health({ clock: systemClock, registry });
    const board = new StatusBoard({ site, clock: systemClock, versions: { zonegate: 'test' }, health });
    let journalOk = true;
    health.register({
      name: 'journal',
      critical: true,
      check: () => (journalOk ? { ok: true, detail: 'writable' } : { ok: false, detail: 'disk I/O error' }),
    });
    const ops = createOpsService({
      site,
      registry,
      log: silentLogger,
      clock: systemClock,
      statusSource: board,
      health,
      env: { NOTIFY_SOCKET: socket.path, WATCHDOG_USEC: '300000' },
      // No periodic refresh in this test: only the watchdog may put the line back.
      statusIntervalMs: 3_600_000,
    });
    const stopAll = await startAll(ops.modules);
    try {
      board.list({ version: 8, publishedAt: Date.now() - 3_600_000 });
      const from = socket.received.length;
      await ops.ready();
      const line = '2 lanes (in-1 idle-up); list v8 1.0 h; uplink down, backlog 0; health ok';
      await socket.waitFor((d) => socket.received.indexOf(d) >= from && d.fields['READY'] === '1');
      journalOk = false;
      const unhealthy = await socket.waitFor(
        (d) => socket.received.indexOf(d) >= from && d.fields['STATUS'] === 'unhealthy: journal: disk I/O error',
      );
      journalOk = true;
      await socket.waitFor(
        (d) => socket.received.indexOf(d) > socket.received.indexOf(unhealthy) && d.fields['STATUS'] === line,
      );
      await ops.stopping('test over');
    } finally {
      await stopAll();
    }
  });
});
