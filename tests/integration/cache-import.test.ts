import { DateTime } from 'luxon';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importListCsv, openListCache } from '../../src/cache/index.js';
import { decide } from '../../src/policy/decide.js';
import type { ZonePolicy } from '../../src/policy/types.js';
import { ManualClock } from '../../src/shared/clock.js';
import { silentLogger } from '../../src/shared/log.js';
import { repoRoot, runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

const at = (iso: string): number => DateTime.fromISO(iso, { zone: 'Europe/Amsterdam' }).toMillis();
const demo = (f: string): string => join(repoRoot, 'firmware-config/demo', f);

describe('zonegate cache import (CLI, SQLite on disk)', () => {
  const tmp = tempDir();
  const db = join(tmp.path, 'lists.sqlite');
  /** A site profile whose dataDir holds the demo grants (written by the --config test). */
  const site = join(tmp.path, 'site.yaml');
  afterAll(() => tmp.remove());

  it('imports the demo grants and vehicle data and reports the new version', async () => {
    const g = await runCli(['cache', 'import', '--db', db, demo('grants.csv')]);
    expect(g.stderr).toBe('');
    expect(g.code).toBe(0);
    expect(g.stdout).toMatch(/imported 8 grants .* list version 1/);
    const v = await runCli(['cache', 'import', '--db', db, demo('vehicles.csv')]);
    expect(v.code).toBe(0);
    expect(v.stdout).toMatch(/imported 8 vehicles .* list version 2/);
    const info = await runCli(['cache', 'info', '--db', db, '--json']);
    expect(info.code).toBe(0);
    expect(JSON.parse(info.stdout)).toMatchObject({ version: 2, source: 'import', grants: 8, vehicles: 8 });
  });

  it('a file with bad rows is refused with every line and column named, and the cache stays as it was', async () => {
    const bad = join(tmp.path, 'bad.csv');
    writeFileSync(
      bad,
      [
        'plate,country,scope,kind,valid_from,valid_until,windows',
        'AB-123-C,NL,zone:demo-centrum,resident,2025-01-01,,',
        'GH-456-J,NL,zone:Demo Centrum,resident,2025-01-01,,',
        'KL-789-M,NL,national,lorry,2025-01-01,,',
        'NP-012-Q,NL,national,permit,2025-02-30,,',
        'RS-345-T,NL,national,supplier,2025-01-01,,mon-fri 07:00-11:60',
        'VX-678-Z,NL,national,permit,2025-06-01,2025-01-01,',
        'B-12-XYZ,NL,national,permit',
      ].join('\n'),
    );
    const r = await runCli(['cache', 'import', '--db', db, bad]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${bad}:3: column scope: "zone:Demo Centrum" is not a scope`);
    expect(r.stderr).toContain(`${bad}:4: column kind: "lorry" is not a kind`);
    expect(r.stderr).toContain(`${bad}:5: column valid_from: "2025-02-30" is not a calendar date`);
    expect(r.stderr).toContain(`${bad}:6: column windows:`);
    expect(r.stderr).toContain(`${bad}:7: column valid_until: valid_until is not after valid_from`);
    expect(r.stderr).toContain(`${bad}:8: 4 fields, the header has 7`);
    expect(r.stderr).toMatch(/6 problems; nothing was imported \(the cache is unchanged at version 2\)/);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    const info = await runCli(['cache', 'info', '--db', db, '--json']);
    expect(JSON.parse(info.stdout)).toMatchObject({ version: 2, grants: 8, vehicles: 8 });
  });

  it("with --config the cache is the site's dataDir/lists.sqlite, and cache check shows what a lane decides", async () => {
    writeFileSync(
      site,
      `gateway: { id: gw-check, site: test, municipality: '0363', zone: demo-centrum }
dataDir: ${join(tmp.path, 'site-data')}
lanes: [{ id: in-1, bollard: { driver: simulator } }]
sources: [{ id: cam-1, kind: simulated, lane: in-1, simulate: { plates: [VFT38N] } }]
`,
    );
    const imp = await runCli(['cache', 'import', '--config', site, demo('grants.csv')]);
    expect(imp.code).toBe(0);
    expect(imp.stdout).toContain(join(tmp.path, 'site-data', 'lists.sqlite'));
    const inWindow = await runCli(['cache', 'check', 'VFT-38-N', '--config', site, '--at', '2026-03-02T08:15+01:00']);
    expect(inWindow.code).toBe(0);
    expect(JSON.parse(inWindow.stdout)).toMatchObject({
      plate: 'VFT-38-N',
      grants: [{ id: 'demo-supplier' }],
      decision: { outcome: 'open', reason: 'grant', grantId: 'demo-supplier', listVersion: 1 },
    });
  });

  it('cache check reads a time without an offset as Amsterdam time, like the lists, whatever zone the machine is in', async () => {
    const local = await runCli(['cache', 'check', 'VFT-38-N', '--config', site, '--at', '2026-03-02T10:30'], {
      env: { TZ: 'UTC' },
    });
    expect(local.code).toBe(0);
    expect(JSON.parse(local.stdout)).toMatchObject({
      at: '2026-03-02T09:30:00.000Z',
      decision: { outcome: 'open', reason: 'grant' },
    });
  });

  it.each([
    ['--at', 'tomorrow'],
    ['--confidence', 'high'],
    ['--confidence', '1001'],
  ])('cache check refuses %s "%s" naming the flag (exit 2, no stack trace)', async (flag, value) => {
    const bad = await runCli(['cache', 'check', 'VFT-38-N', '--config', site, flag, value]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain(`${flag}: "${value}"`);
    expect(bad.stderr).not.toMatch(/\n\s+at /);
  });

  it('without --config or --db the command says which cache it needs (exit 2)', async () => {
    const r = await runCli(['cache', 'info']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/give --config SITE.yaml .* or --db FILE/);
  });
});

describe('the SQLite cache serves decide() the demo list', () => {
  const tmp = tempDir();
  const clock = new ManualClock(at('2026-03-02T09:00'));
  const deps = { clock, log: silentLogger, registry: new Registry() };
  const file = join(tmp.path, 'lists.sqlite');
  const policy: ZonePolicy = {
    zone: 'demo-centrum',
    municipality: '0363',
    lane: 'in-1',
    cameraOnly: false,
    minConfidence: 700,
    windows: [],
    staleList: { maxAgeMs: 48 * 3_600_000, action: 'keep-deciding' },
  };
  beforeAll(() => {
    const cache = openListCache(file, deps);
    for (const f of ['grants.csv', 'vehicles.csv']) {
      const r = importListCsv(cache, readFileSync(demo(f), 'utf8'), { clock });
      expect(r.problems).toEqual([]);
    }
    cache.close();
  });
  afterAll(() => tmp.remove());

  const passage = (text: string) => ({
    id: 'p',
    lane: 'in-1',
    text,
    country: 'NL',
    confidence: 900,
    reads: 2,
    consistentReads: 2,
    alternatives: [],
    firstSeenAt: 0,
    lastSeenAt: 0,
    trigger: 'consistent-reads' as const,
  });

  const expected: [string, string, string, string][] = [
    // plate, local time, outcome, reason
    ['K285TX', '2026-03-08T03:00', 'open', 'grant'],
    ['52HKV7', '2026-03-02T23:00', 'open', 'grant'],
    ['VFT38N', '2026-03-02T09:00', 'open', 'grant'],
    ['VFT38N', '2026-03-02T12:00', 'deny', 'outside-window'],
    ['VFT38N', '2026-03-07T09:00', 'deny', 'outside-window'],
    ['3TZB41', '2026-03-02T03:00', 'open', 'emergency'],
    ['6XR419', '2026-03-02T09:00', 'deny', 'expired'],
    ['PN682R', '2026-03-02T09:00', 'deny', 'wrong-zone'],
    ['X49BFK', '2026-03-02T09:00', 'deny', 'wrong-zone'],
    ['417HN8', '2026-03-02T09:00', 'open', 'grant'],
    ['HX771L', '2026-03-02T09:00', 'deny', 'no-grant'],
    ['S2HKV7', '2026-03-02T09:00', 'open', 'grant'],
  ];

  it.each(expected)('demo plate %s at %s: %s (%s)', (plate, time, outcome, reason) => {
    const cache = openListCache(file, deps);
    try {
      const now = at(time);
      const d = decide(passage(plate), now, cache.lookups, policy);
      expect({ outcome: d.outcome, reason: d.reason }).toEqual({ outcome, reason });
      expect(d.listVersion).toBe(2);
    } finally {
      cache.close();
    }
  });

  it('lookups return the stored grant with its window and the RDW facts', () => {
    const cache = openListCache(file, deps);
    try {
      const [g] = cache.lookups.entry('VFT38N', 'NL').grants;
      expect(g).toMatchObject({
        id: 'demo-supplier',
        kind: 'supplier',
        scope: { type: 'zone', zone: 'demo-centrum' },
        windows: [{ days: [1, 2, 3, 4, 5], fromMinute: 420, untilMinute: 660 }],
        validFrom: at('2025-01-01T00:00'),
        validUntil: at('2028-01-01T00:00'),
        listVersion: 1,
      });
      expect(cache.lookups.entry('417HN8', 'NL').vehicle).toMatchObject({
        category: 'N2',
        emissionClass: 6,
        fuels: ['diesel'],
      });
      expect(cache.lookups.entry('HX771L', 'NL').grants).toEqual([]);
      expect(cache.lookups.entry('HX771L', 'NL').vehicle).toBeUndefined();
    } finally {
      cache.close();
    }
  });

  it('refused rows are counted by column and the list is left as it was', async () => {
    const registry = new Registry();
    const cache = openListCache(file, deps);
    try {
      const before = cache.info();
      const r = importListCsv(cache, 'plate,scope,kind\nAB12CD,zone:x,lorry\nEF34GH,nowhere,resident\n', {
        clock,
        registry,
      });
      expect(r.problems.map((p) => p.column)).toEqual(['kind', 'scope']);
      expect(cache.info()).toEqual(before);
      const metric = await registry.getSingleMetric('zonegate_list_import_problems_total')!.get();
      expect(metric.values.map((v) => [v.labels['column'], v.value]).sort()).toEqual([
        ['kind', 1],
        ['scope', 1],
      ]);
    } finally {
      cache.close();
    }
  });

  it('a change committed by another connection shows in the version decide() reports', () => {
    const reader = openListCache(file, deps);
    const writer = openListCache(file, deps, { cleanup: false });
    try {
      expect(reader.lookups.listVersion).toBe(2);
      writer.applyInPlace({ version: 3, source: 'import', upsertGrants: [] });
      expect(reader.lookups.listVersion).toBe(3);
      expect(reader.info()).toMatchObject({ version: 3, grants: 8 });
    } finally {
      writer.close();
      reader.close();
    }
  });
});
