import mqtt, { type MqttClient } from 'mqtt';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ListCache } from '../../src/cache/index.js';
import type { Journal } from '../../src/journal/types.js';
import { systemClock } from '../../src/shared/clock.js';
import { silentLogger } from '../../src/shared/log.js';
import type { ListSync } from '../../src/sync/lists-sync.js';
import { unframe } from '../../src/sync/lists-wire.js';
import { createStatusPublisher, type StatusPublisher } from '../../src/sync/status.js';
import { repoRoot, runCli } from '../helpers/cli.js';
import { nextListEvent, regionKeyFiles, startGatewayLists, type GatewayLists } from '../helpers/lists-region.js';
import { startMosquitto, type MosquittoInstance } from '../helpers/mosquitto.js';
import { tempDir } from '../helpers/tmp.js';

const demo = (f: string): string => join(repoRoot, 'firmware-config/demo', f);

describe('zonegate region publish-list → gateway list sync (real broker)', () => {
  const tmp = tempDir();
  const keys = regionKeyFiles(tmp.path);
  let broker: MosquittoInstance;
  let gw: GatewayLists | undefined;
  let gateway: MqttClient;
  let cache: ListCache;
  let journal: Journal;
  let sync: ListSync;
  let status: StatusPublisher;
  /** `zonegate region publish-list` of a version of the zone's list, signed with the region's key. */
  const publishList = (version: number, ...args: string[]): ReturnType<typeof runCli> =>
    runCli([
      'region',
      'publish-list',
      '--zone',
      'demo-centrum',
      '--list-version',
      String(version),
      '--signing-key',
      keys.privateFile,
      ...args,
    ]);

  beforeAll(async () => {
    broker = await startMosquitto();
    gw = await startGatewayLists({
      brokerUrl: broker.url,
      dir: tmp.path,
      gatewayId: 'gw-publish-1',
      publicKeyFile: keys.publicFile,
    });
    ({ mqtt: gateway, cache, journal, sync } = gw);
    status = createStatusPublisher({
      client: gateway,
      gatewayId: 'gw-publish-1',
      topicPrefix: 'zonegate/v1',
      journal,
      clock: systemClock,
      log: silentLogger,
      intervalMs: 60_000,
      versions: { zonegate: 'test' },
      statusProvider: () => ({ lists: sync.status() }),
    });
    await status.start();
  });
  afterAll(async () => {
    await status?.stop();
    await gw?.close();
    await broker?.dispose();
    tmp.remove();
  });

  it('publishes the demo grants and RDW data as a signed snapshot that the gateway applies', async () => {
    const applied = nextListEvent(journal, (p) => p['event'] === 'applied' && p['version'] === 1);
    const r = await publishList(
      1,
      '--grants',
      demo('grants.csv'),
      '--vehicles',
      demo('vehicles.csv'),
      '--mqtt',
      broker.url,
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/published snapshot v1 of zone demo-centrum: 8 grants, 8 vehicles, 1 chunk\(s\)/);
    await applied;
    expect(cache.info()).toMatchObject({ version: 1, source: 'region', grants: 8, vehicles: 8 });
    expect(cache.lookups.entry('VFT38N', 'NL').grants[0]).toMatchObject({ id: 'demo-supplier', kind: 'supplier' });
  });

  it('the retained status topic carries the list version and age', async () => {
    status.publishNow();
    const reader = await mqtt.connectAsync(broker.url, { clientId: 'status-reader' });
    try {
      const got = new Promise<Record<string, unknown>>((resolve) =>
        reader.on('message', (_t, p) => {
          const s = JSON.parse(p.toString()) as Record<string, unknown>;
          if ((s['lists'] as { version?: number } | undefined)?.version === 1) resolve(s);
        }),
      );
      await reader.subscribeAsync('zonegate/v1/gw/gw-publish-1/status', { qos: 1 });
      const s = await got;
      expect(s['lists']).toMatchObject({ version: 1, source: 'region', regionVersion: 1, stale: false });
      expect((s['lists'] as { ageSeconds: number }).ageSeconds).toBeGreaterThanOrEqual(0);
    } finally {
      await reader.endAsync();
    }
  });

  it('publishes the difference between two grants lists as a signed delta', async () => {
    const next = join(tmp.path, 'grants-v2.csv');
    const lines = readFileSync(demo('grants.csv'), 'utf8').split('\n');
    // Drop the expired ontheffing, add a resident.
    writeFileSync(
      next,
      [
        ...lines.filter((l) => !l.startsWith('6-XR-419')),
        'HX-771-L,NL,zone:demo-centrum,resident,2025-01-01,,,,,new-resident',
      ].join('\n'),
    );
    const applied = nextListEvent(journal, (p) => p['event'] === 'applied' && p['version'] === 2);
    const r = await publishList(
      2,
      '--from-version',
      '1',
      '--from-grants',
      demo('grants.csv'),
      '--grants',
      next,
      '--mqtt',
      broker.url,
    );
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/published delta v2 .* 2 changes/);
    expect((await applied).payload).toMatchObject({ kind: 'delta', fromVersion: 1, changes: 2 });
    expect(cache.lookups.entry('HX771L', 'NL').grants).toHaveLength(1);
    expect(cache.lookups.entry('6XR419', 'NL').grants).toEqual([]);
    expect(cache.info()).toMatchObject({ version: 2, grants: 8, vehicles: 8 });
  });

  it('a grants file with bad rows publishes nothing and names every bad line (exit 2)', async () => {
    const bad = join(tmp.path, 'bad.csv');
    writeFileSync(bad, 'plate,scope,kind\nAB-12-CD,zone:demo-centrum,resident\nEF-34-GH,everywhere,resident\n');
    const out = join(tmp.path, 'out-bad');
    const r = await publishList(3, '--grants', bad, '--out', out);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${bad}:3: column scope: "everywhere" is not a scope`);
    expect(r.stderr).toContain('nothing was published');
  });

  it('a broker flag that cannot be used is refused naming the flag as publish-list spells it (exit 2)', async () => {
    const publish = (...broker: string[]): ReturnType<typeof runCli> => publishList(3, '--synthetic', '10', ...broker);
    const [missing, half, password, url] = await Promise.all([
      publish('--client-key', '/nonexistent/client.key', '--cert', '/nonexistent/c.crt'),
      publish('--client-key', 'package.json'),
      publish('--password-file', '/nonexistent/password'),
      publish('--mqtt', 'http://broker:1883'),
    ]);
    for (const r of [missing, half, password, url]) expect(r.code).toBe(2);
    expect(missing.stderr).toContain('--client-key: cannot read /nonexistent/client.key (ENOENT)');
    expect(half.stderr).toContain('--client-key and --cert: give both for TLS client authentication, or neither');
    expect(password.stderr).toContain('--password-file: cannot read /nonexistent/password (ENOENT)');
    expect(url.stderr).toContain('--mqtt: "http://broker:1883" is not mqtt://host:port');
  });

  it('--out writes the signed messages as files: manifest first, then the chunks', async () => {
    const out = join(tmp.path, 'out');
    const r = await publishList(3, '--synthetic', '5000', '--chunk-rows', '4000', '--out', out);
    expect(r.code).toBe(0);
    const files = readdirSync(out).sort();
    expect(files).toEqual(['00000-snapshot.bin', '00001-snapshot.bin', '00002-snapshot.bin', '00003-snapshot.bin']);
    const first = unframe(readFileSync(join(out, files[0]!))) as { header: Record<string, unknown> };
    expect(first.header).toMatchObject({ v: 1, type: 'snapshot' });
  });

  it('--chunk-interval-ms spaces the chunks of a snapshot, which the gateway still applies whole', async () => {
    const applied = nextListEvent(journal, (p) => p['event'] === 'applied' && p['version'] === 4);
    const started = Date.now();
    const r = await publishList(
      4,
      '--synthetic',
      '2000',
      '--chunk-rows',
      '500',
      '--chunk-interval-ms',
      '150',
      '--mqtt',
      broker.url,
    );
    const seconds = (Date.now() - started) / 1000;
    expect(r.code, r.stderr).toBe(0);
    const chunks = Number(/(\d+) chunk\(s\)/.exec(r.stdout)?.[1]);
    expect(chunks).toBeGreaterThanOrEqual(8);
    // A lower bound only: the pauses between chunks (a busy machine only makes it longer).
    expect(seconds).toBeGreaterThanOrEqual(((chunks - 1) * 150) / 1000);
    expect((await applied).payload).toMatchObject({ kind: 'snapshot', version: 4 });
    expect(cache.info()).toMatchObject({ version: 4, source: 'region' });

    const bad = await publishList(5, '--synthetic', '10', '--chunk-interval-ms', 'soon');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--chunk-interval-ms: "soon" is not a whole number ≥ 0');
  });
});
