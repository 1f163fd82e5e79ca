import { closeSync, openSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { openListCache } from '../../src/cache/list-cache.js';
import { openJournal } from '../../src/journal/index.js';
import { systemClock } from '../../src/shared/clock.js';
import { silentLogger } from '../../src/shared/log.js';
import { Registry } from '../../src/shared/metrics.js';
import { runCli } from '../helpers/cli.js';
import { wireSimulator } from '../helpers/gpio-bollard.js';
import { cliInTree } from '../helpers/gpio-cli.js';
import { LaneHost } from '../helpers/gpio-lane.js';
import { GpioTree } from '../helpers/gpio-tree.js';
import { startMosquitto, type MosquittoInstance } from '../helpers/mosquitto.js';
import { tempDir } from '../helpers/tmp.js';

const dir = tempDir('zg-doctor-cli-');
let broker: MosquittoInstance;
const config = join(dir.path, 'site.yaml');

interface DoctorJson {
  results: Array<{ id: string; status: string; detail: string; fix?: string }>;
  failed: number;
}

beforeAll(async () => {
  broker = await startMosquitto();
  const deps = { clock: systemClock, registry: new Registry(), log: silentLogger };
  const journal = openJournal({ file: join(dir.path, 'journal.sqlite'), gatewayId: 'gw-doc-1', ...deps });
  for (let i = 0; i < 500; i++)
    journal.append({ type: 'system', at: Date.now(), payload: { i, pad: 'p'.repeat(300) } });
  journal.close();
  const cache = openListCache(join(dir.path, 'lists.sqlite'), deps);
  cache.applyInPlace({
    version: 3,
    publishedAt: Date.now() - 600_000,
    source: 'region',
    replaceGrants: true,
    upsertGrants: [
      {
        id: 'g',
        plate: 'AB12CD',
        country: 'NL',
        scope: { type: 'national' },
        kind: 'permit',
        validFrom: 0,
        windows: [],
        listVersion: 3,
      },
    ],
  });
  cache.close();
  writeFileSync(
    config,
    `gateway: { id: gw-doc-1, site: Doctor test, municipality: '0363', zone: z-a }
dataDir: ${dir.path}
lanes: [{ id: in-1 }]
sources: [{ id: cam-1, kind: tcp-client, lane: in-1, host: 127.0.0.1, port: 5000 }]
mqtt: { url: '${broker.url}' }
`,
  );
});
afterAll(async () => {
  await broker?.dispose();
  dir.remove();
});

describe('zonegate doctor', () => {
  test('a healthy gateway passes every check it has and exits 0', async () => {
    const r = await runCli(['doctor', '--config', config, '--skip', 'clock', '--json']);
    const res = JSON.parse(r.stdout) as DoctorJson;
    expect(res.results.filter((x) => x.status !== 'skip').map((x) => [x.id, x.status])).toEqual([
      ['disk', 'pass'],
      ['database:journal.sqlite', 'pass'],
      ['database:lists.sqlite', 'pass'],
      ...res.results.filter((x) => x.id.startsWith('database:lists.sqlite.d/')).map((x) => [x.id, 'pass']),
      ['lists', 'pass'],
      ['broker', 'pass'],
    ]);
    expect(r.code).toBe(0);
  });

  test('a damaged journal and an unreachable broker fail it with exit 1, each with its fix', async () => {
    const file = join(dir.path, 'journal.sqlite');
    const fd = openSync(file, 'r+');
    writeSync(fd, Buffer.alloc(8192, 0xa5), 0, 8192, Math.floor(statSync(file).size / 2 / 4096) * 4096);
    closeSync(fd);
    await broker.stop();
    const r = await runCli(['doctor', '--config', config, '--skip', 'clock', '--broker-timeout', '3000']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(
      /✗ database integrity of journal\.sqlite\s+(cannot read: database disk image is malformed|\d+ problems?:)/,
    );
    expect(r.stdout).toMatch(/✗ broker mqtt:\/\/127\.0\.0\.1:\d+\s+ECONNREFUSED/);
    expect(r.stdout.match(/^ {6}fix: /gm)?.length).toBeGreaterThanOrEqual(2);
    expect(r.stdout).toMatch(/\d+ passed, 0 warnings, 2 failed, \d+ skipped\n$/);
  });

  test('a broken profile exits 2 naming the key, without a stack trace; so does an unknown check name', async () => {
    const broken = join(dir.path, 'broken.yaml');
    writeFileSync(
      broken,
      `gateway: { id: gw-doc-1, site: T, municipality: '0363', zone: z-a }
lanes: [{ id: in-1 }]
sources: [{ id: cam-1, kind: serial, lane: in-1, device: /dev/ttyUSB0 }]
ops: { clock: { unsynchronized: sometimes } }
`,
    );
    const r = await runCli(['doctor', '--config', broken, '--only', 'config']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /broken\.yaml: invalid configuration\n {2}- ops\.clock\.unsynchronized: .*"fault".*"warn"/,
    );
    expect(r.stderr).not.toMatch(/\n\s+at /);
    const bad = await runCli(['doctor', '--config', config, '--only', 'disk,bogus']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--only: unknown check bogus');
  });
});

describe('zonegate doctor, bollard GPIO while the gateway runs', () => {
  test('the gateway inverts its inputs in sysfs (active_low 1): doctor still reads the bollard up with the loop clear, and drives nothing', async () => {
    const pins = { lower: 17, raise: 27, positionDown: 5, positionUp: 6, loops: [13], lightRed: 22, lightGreen: 23 };
    const timing = { travelMs: 1500, clearanceMs: 300, warningMs: 200, debounceMs: 10, scanMs: 10 };
    const bollard = { driver: 'gpio', activeLow: true, pins, timing, simulator: { travelMs: 600 } };
    const file = join(dir.path, 'gpio-live.yaml');
    writeFileSync(
      file,
      `gateway: { id: gw-doc-1, site: Doctor test, municipality: '0363', zone: z-a }
dataDir: ${dir.path}
lanes: [{ id: in-1, bollard: ${JSON.stringify(bollard)} }]
sources: [{ id: cam-1, kind: tcp-client, lane: in-1, host: 127.0.0.1, port: 5000 }]
`,
    );
    const tree = new GpioTree();
    const { sim, stop } = await wireSimulator(tree, bollard);
    const gateway = new LaneHost(tree, { laneId: 'in-1', bollard, runDir: join(dir.path, 'run') });
    try {
      expect((await gateway.started()).status?.state).toBe('idle-up');
      // What makes this case: onoff set active_low on the inputs, so their value files show
      // logical levels. The up switch is active (wire low) and its value file reads 1.
      const up = tree.line(tree.bcm(pins.positionUp));
      expect([up.exported, up.activeLow, up.high]).toEqual([true, true, false]);
      const writes = tree.writes.length;

      const r = await cliInTree(tree, ['doctor', '--config', file, '--only', 'gpio', '--json']);
      expect(r.stderr).toBe('');
      const res = JSON.parse(r.stdout) as DoctorJson;
      expect(res.results.find((x) => x.id === 'gpio:in-1')).toEqual({
        id: 'gpio:in-1',
        title: 'bollard pins of lane in-1',
        status: 'pass',
        detail:
          'bollard up: positionDown(BCM5)=1, positionUp(BCM6)=0 active, loops[0](BCM13)=1, ' +
          'lower(BCM17) out=0, raise(BCM27) out=1, lightRed(BCM22) out=1, lightGreen(BCM23) out=0',
      });
      expect(tree.writes.length).toBe(writes);
      expect(tree.line(tree.bcm(pins.positionUp))).toMatchObject({ exported: true, activeLow: true });
      expect(sim.height()).toBe(1);
    } finally {
      await gateway.close();
      await stop();
    }
  });
});
