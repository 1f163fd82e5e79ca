import { createServer, type Server } from 'node:net';
import { expect, test } from 'vitest';
import { parseSiteConfig } from '../../src/config/index.js';
import { Health } from '../../src/ops/health.js';
import { StatusBoard } from '../../src/ops/status-board.js';
import { createStatusServer } from '../../src/ops/status-server.js';
import { ManualClock } from '../../src/shared/clock.js';
import { silentLogger } from '../../src/shared/log.js';
import { Registry } from '../../src/shared/metrics.js';
import { freePort } from '../helpers/mosquitto.js';

const listenOn = (port: number): Promise<Server> =>
  new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(port, '127.0.0.1', () => resolve(srv));
  });

test('a status port taken by another program does not stop the gateway: the page binds once it is free', async () => {
  const port = await freePort();
  const squatter = await listenOn(port);
  const site = parseSiteConfig(
    `
gateway: { id: gw-bind, site: Bind test, municipality: '0363', zone: zone-a }
lanes: [{ id: in-1 }]
sources: [{ id: cam-1, kind: serial, lane: in-1, device: /dev/null }]
status: { listen: 127.0.0.1, port: ${port} }
`,
    'site.yaml',
  );
  const clock = new ManualClock();
  const registry = new Registry();
  const health = new Health({ clock, registry });
  const server = createStatusServer({
    config: site.status,
    registry,
    statusSource: new StatusBoard({ site, clock, versions: {}, health }),
    log: silentLogger,
    health,
    clock,
    bindRetryMs: 5_000,
  });
  // start() resolves (the gateway goes on deciding) although the port is taken.
  await server.start();
  expect(server.address()).toBeUndefined();
  await new Promise<void>((resolve) => squatter.close(() => resolve()));
  clock.advance(5_000);
  await expect.poll(() => server.address(), { timeout: 5_000 }).toEqual({ host: '127.0.0.1', port });
  const res = await fetch(`http://127.0.0.1:${port}/health`);
  expect(res.status).toBeLessThan(600);
  expect(await res.text()).toMatch(/ok|degraded|failing/);
  await server.stop();
});
