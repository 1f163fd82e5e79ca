import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { DialectCatalog } from '../../src/sources/index.js';
import { repoRoot, runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

/**
 * `zonegate replay` is how a technician reproduces a field problem: the capture's reads go through
 * the real pipeline at the capture's own times, so time windows decide as they did at the roadside.
 */
const GRANTS = `plate,country,scope,kind,valid_from,valid_until,windows,vehicle_categories,source_ref,id
VFT-38-N,NL,zone:test-zone,supplier,2025-01-01,2027-12-31,mon-fri 07:00-11:00,,bevoorrading,supplier-1
3-TZB-41,NL,national,emergency,2020-01-01,,,,brandweer,emergency-1
`;

const SITE = `
gateway: { id: gw-replay, site: Replay test entrance, municipality: '0363', zone: test-zone }
dataDir: /nonexistent/zonegate-replay-test
lanes:
  - id: in-1
    bollard: { driver: gpio, pins: { lower: 17, raise: 27, positionDown: 5, positionUp: 6, loops: [13] } }
sources:
  - { id: cam-1, kind: serial, lane: in-1, device: /dev/ttyUSB0, dialect: zg1 }
passage: { windowMs: 1000, minReads: 2, holdOffMs: 30000 }
`;

let dir: ReturnType<typeof tempDir>;
beforeAll(() => {
  dir = tempDir('zg-replay-');
  writeFileSync(join(dir.path, 'site.yaml'), SITE);
  writeFileSync(join(dir.path, 'grants.csv'), GRANTS);
  const codec = new DialectCatalog().codec('zg1');
  // Wednesday 2026-03-11, Amsterdam is UTC+1: 09:59:59 UTC is 10:59:59 local, inside the window.
  const t = (iso: string): number => Date.parse(iso);
  const reads: [string, string, number][] = [
    ['VFT38N', '2026-03-11T09:59:58.000Z', 910],
    ['VFT38N', '2026-03-11T09:59:58.300Z', 930],
    // The same supplier again after its window closed (11:00 local), past the hold-off.
    ['VFT38N', '2026-03-11T10:01:30.000Z', 920],
    ['VFT38N', '2026-03-11T10:01:30.300Z', 940],
    // An ambulance whose B the camera reads as 8: the listed 3-TZB-41 is the one candidate in the cache.
    ['3TZ841', '2026-03-11T10:05:00.000Z', 880],
    ['3TZ841', '2026-03-11T10:05:00.250Z', 900],
    ['GZ915K', '2026-03-11T10:06:00.000Z', 950],
    ['GZ915K', '2026-03-11T10:06:00.200Z', 960],
  ];
  const lines = reads.map(([text, at, confidence]) =>
    codec.encode({ text, confidence, cameraTime: t(at), direction: 'in' }).toString('latin1'),
  );
  // A line corrupted in the field: counted and skipped, the rest replays.
  lines.splice(3, 0, '$ZG1,2026-03-11T10:01:29.000Z,1,XX,NL,900,,in,*FFFF\n');
  writeFileSync(join(dir.path, 'capture.txt'), lines.join(''));
});
afterAll(() => dir.remove());

describe('zonegate replay', () => {
  test('prints one JSON line per decision, deciding at the capture’s own times', async () => {
    const r = await runCli([
      'replay',
      '--config',
      join(dir.path, 'site.yaml'),
      '--lists',
      join(dir.path, 'grants.csv'),
      join(dir.path, 'capture.txt'),
    ]);
    expect(r.stderr).toMatch(
      /replayed .*capture\.txt \(plain, dialect zg1, timing camera\): 8 reads, rejected: bad-checksum 1/,
    );
    expect(r.code).toBe(0);
    const decisions = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(decisions.map((d) => [d['plate'], d['outcome'], d['reason']])).toEqual([
      ['VFT-38-N', 'open', 'grant'],
      ['VFT-38-N', 'deny', 'outside-window'],
      ['3-TZB-41', 'open', 'emergency'],
      ['GZ-915-K', 'deny', 'no-grant'],
    ]);
    expect(decisions[0]).toMatchObject({ at: '2026-03-11T09:59:58.300Z', grantId: 'supplier-1', reads: 2 });
    expect(decisions[2]).toMatchObject({ read: '3TZ841', corrected: true, grantId: 'emergency-1' });
  });

  test('replaying the same capture twice gives the same decisions (a technician can compare runs)', async () => {
    const args = [
      'replay',
      '--config',
      join(dir.path, 'site.yaml'),
      '--lists',
      join(dir.path, 'grants.csv'),
      join(dir.path, 'capture.txt'),
    ];
    const [a, b] = [await runCli(args), await runCli(args)];
    const strip = (out: string): string => out.replace(/"passageId":"[^"]+",/g, '');
    expect(strip(a.stdout)).toBe(strip(b.stdout));
    expect(a.stdout.length).toBeGreaterThan(0);
  });

  test('a capture file is read in the dialect it recorded, whatever the site profile’s source speaks', async () => {
    const r = await runCli([
      'replay',
      '--config',
      join(dir.path, 'site.yaml'),
      '--lists',
      join(dir.path, 'grants.csv'),
      join(repoRoot, 'tests/fixtures/captures/stx-kv-bcc.zgcap'),
    ]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/\(capture, dialect stx-kv-bcc, timing capture\): [1-9]\d* reads/);
    expect(r.stdout.trim().split('\n').length).toBeGreaterThan(0);
  });

  test('a broken capture header or an impossible timing is a usage error, not a stack trace', async () => {
    writeFileSync(join(dir.path, 'broken.zgcap'), '#zonegate-capture v2 {}\n');
    const broken = await runCli([
      'replay',
      '--config',
      join(dir.path, 'site.yaml'),
      '--lists',
      join(dir.path, 'grants.csv'),
      join(dir.path, 'broken.zgcap'),
    ]);
    expect(broken.code).toBe(2);
    expect(broken.stderr).toContain('broken.zgcap');
    expect(broken.stderr).not.toMatch(/\n\s+at /);
    const timing = await runCli([
      'replay',
      '--config',
      join(dir.path, 'site.yaml'),
      '--lists',
      join(dir.path, 'grants.csv'),
      '--timing',
      'capture',
      join(dir.path, 'capture.txt'),
    ]);
    expect(timing.code).toBe(2);
    expect(timing.stderr).toContain('timing "capture" needs a capture file');
    expect(timing.stderr).not.toMatch(/\n\s+at /);
  });

  test('a capture that does not exist, or a list that does not parse, is a usage error naming it', async () => {
    const missing = await runCli(['replay', '--config', join(dir.path, 'site.yaml'), join(dir.path, 'nope.txt')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('nope.txt: file not found');
    writeFileSync(join(dir.path, 'bad.csv'), GRANTS.replace('2027-12-31', '31-31-2027'));
    const bad = await runCli([
      'replay',
      '--config',
      join(dir.path, 'site.yaml'),
      '--lists',
      join(dir.path, 'bad.csv'),
      join(dir.path, 'capture.txt'),
    ]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/bad\.csv:2: column valid_until/);
  });
});
