import Database from 'better-sqlite3';
import { existsSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { SQL, openDataFile, openListCache, type ListCache } from '../../src/cache/index.js';
import { DATA_SCHEMA_VERSION } from '../../src/cache/store.js';
import type { Grant, VehicleFacts } from '../../src/policy/types.js';
import { systemClock } from '../../src/shared/clock.js';
import { silentLogger } from '../../src/shared/log.js';
import { tempDir } from '../helpers/tmp.js';

const deps = () => ({ clock: systemClock, log: silentLogger, registry: new Registry() });

const grant = (plate: string, id: string): Grant => ({
  plate,
  country: 'NL',
  id,
  scope: { type: 'zone', zone: 'demo-centrum' },
  kind: 'resident',
  validFrom: Date.UTC(2025, 0, 1),
  windows: [],
  listVersion: 1,
});

const van = (plate: string): VehicleFacts => ({
  plate,
  country: 'NL',
  category: 'N1',
  fuels: ['Diesel'],
  emissionClass: 6,
  firstAdmission: Date.UTC(2019, 5, 1),
  maxMass: 3_000,
  bodyCodes: [],
  listVersion: 1,
});

let dir: { path: string; remove: () => void };
let cache: ListCache | undefined;

beforeEach(() => {
  dir = tempDir();
});

afterEach(() => {
  cache?.close();
  cache = undefined;
  dir.remove();
});

function counted(file: string): { grants: unknown; vehicles: unknown } {
  const db = new Database(file, { readonly: true });
  try {
    return {
      grants: db.prepare(SQL.countGrants).pluck().get(),
      vehicles: db.prepare(SQL.countVehicles).pluck().get(),
    };
  } finally {
    db.close();
  }
}

describe('a plate’s grants and vehicle facts', () => {
  test('are read by one search of one primary key', () => {
    cache = openListCache(join(dir.path, 'lists.sqlite'), deps());
    const db = new Database(cache.info().file, { readonly: true });
    const plan = db
      .prepare(`EXPLAIN QUERY PLAN ${SQL.selectEntry}`)
      .all('XX', 'NL')
      .map((r) => (r as { detail: string }).detail);
    db.close();
    expect(plan).toEqual(['SEARCH entries USING PRIMARY KEY (plate=? AND country=?)']);
  });

  test('come back together, and a change to one leaves the other as it was', () => {
    cache = openListCache(join(dir.path, 'lists.sqlite'), deps());
    cache.applyInPlace({
      version: 2,
      source: 'import',
      upsertGrants: [grant('52HKV7', 'b'), grant('52HKV7', 'a'), grant('XR417N', 'a')],
      upsertVehicles: [van('52HKV7'), van('GV123B')],
    });
    const both = cache.lookups.entry('52HKV7', 'NL');
    expect(both.grants.map((g) => g.id)).toEqual(['a', 'b']);
    expect(both.vehicle).toMatchObject({ plate: '52HKV7', category: 'N1', emissionClass: 6, maxMass: 3_000 });
    expect(cache.lookups.entry('XR417N', 'NL')).toMatchObject({ grants: [{ id: 'a' }], vehicle: undefined });
    expect(cache.lookups.entry('GV123B', 'NL')).toMatchObject({ grants: [], vehicle: { category: 'N1' } });
    expect(cache.lookups.listed(['52HKV7', 'XR417N', 'GV123B', 'ZZ999Z'], 'NL', false)).toEqual(['52HKV7', 'XR417N']);
    expect(cache.lookups.listed(['52HKV7', 'XR417N', 'GV123B', 'ZZ999Z'], 'NL', true)).toEqual([
      '52HKV7',
      'GV123B',
      'XR417N',
    ]);

    cache.applyInPlace({
      version: 3,
      source: 'import',
      deleteVehicles: [{ plate: '52HKV7', country: 'NL' }],
      deleteGrants: [{ plate: 'XR417N', country: 'NL', id: 'a' }],
    });
    expect(cache.lookups.entry('52HKV7', 'NL')).toMatchObject({
      grants: [{ id: 'a' }, { id: 'b' }],
      vehicle: undefined,
    });
    expect(cache.lookups.entry('XR417N', 'NL')).toEqual({ grants: [], vehicle: undefined });

    cache.applyInPlace({ version: 4, source: 'import', replaceGrants: true, upsertGrants: [grant('GV123B', 'c')] });
    expect(cache.lookups.entry('GV123B', 'NL')).toMatchObject({ grants: [{ id: 'c' }], vehicle: { category: 'N1' } });
    expect(cache.lookups.entry('52HKV7', 'NL').grants).toEqual([]);
    const info = cache.info();
    expect({ grants: info.grants, vehicles: info.vehicles }).toEqual({ grants: 1, vehicles: 1 });
    expect(counted(info.file)).toEqual({ grants: 1, vehicles: 1 });
  });
});

/** The layout of list data files before schema 2: grants and vehicles in two tables. */
const SCHEMA_1 = `
CREATE TABLE meta (key TEXT PRIMARY KEY, value ANY) WITHOUT ROWID;
CREATE TABLE grants (plate TEXT NOT NULL, country TEXT NOT NULL, id TEXT NOT NULL, scope TEXT NOT NULL,
  kind TEXT NOT NULL, valid_from INTEGER NOT NULL, valid_until INTEGER, windows TEXT, categories TEXT,
  source_ref TEXT, list_version INTEGER NOT NULL, PRIMARY KEY (plate, country, id)) WITHOUT ROWID;
CREATE TABLE vehicles (plate TEXT NOT NULL, country TEXT NOT NULL, category TEXT, fuels TEXT,
  emission_class INTEGER, first_admission INTEGER, max_mass INTEGER, body_codes TEXT, body_type TEXT,
  list_version INTEGER NOT NULL, PRIMARY KEY (plate, country)) WITHOUT ROWID;
INSERT INTO meta VALUES ('schema', 1), ('version', 7), ('source', 'region'), ('grants', 2), ('vehicles', 2),
  ('zone', 'demo-centrum');
INSERT INTO grants VALUES ('52HKV7', 'NL', 'g1', 'zone:demo-centrum', 'resident', 1735689600000, NULL,
  'mon-fri 07:00-11:00', NULL, 'ref-1', 7),
  ('XR417N', 'NL', 'g2', 'national', 'emergency', 1735689600000, 1893456000000, NULL, 'N1 N2', NULL, 7);
INSERT INTO vehicles VALUES ('52HKV7', 'NL', 'N1', 'Elektriciteit', NULL, 1561939200000, 2800, NULL, NULL, 7),
  ('GV123B', 'NL', 'M1', 'Benzine/Elektriciteit', 6, NULL, NULL, 'AA', 'sedan', 7);
`;

describe('a list data file of schema 1 (two tables)', () => {
  function writeSchema1(file: string): void {
    for (const suffix of ['', '-wal', '-shm']) rmSync(file + suffix, { force: true });
    const db = new Database(file);
    db.exec(SCHEMA_1);
    db.close();
  }

  test('is copied into one table and activated when the gateway opens it, with every row and the version kept', () => {
    const catalog = join(dir.path, 'lists.sqlite');
    const first = openListCache(catalog, deps());
    const file = first.info().file;
    first.close();
    writeSchema1(file);

    cache = openListCache(catalog, deps());
    const upgraded = cache.info().file;
    expect(upgraded).not.toBe(file);
    expect(existsSync(file)).toBe(false);
    expect(cache.info()).toMatchObject({ version: 7, source: 'region', zone: 'demo-centrum', grants: 2, vehicles: 2 });
    expect(cache.lookups.entry('52HKV7', 'NL')).toMatchObject({
      grants: [{ id: 'g1', kind: 'resident', sourceRef: 'ref-1', windows: [{ fromMinute: 420, untilMinute: 660 }] }],
      vehicle: { category: 'N1', fuels: ['Elektriciteit'], maxMass: 2800 },
    });
    expect(cache.lookups.entry('XR417N', 'NL')).toMatchObject({
      grants: [{ id: 'g2', scope: { type: 'national' }, validUntil: 1893456000000, vehicleCategories: ['N1', 'N2'] }],
      vehicle: undefined,
    });
    expect(cache.lookups.entry('GV123B', 'NL').vehicle).toMatchObject({ emissionClass: 6, bodyType: 'sedan' });
    cache.close();
    cache = undefined;

    const db = new Database(upgraded, { readonly: true });
    const tables = db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name").pluck().all();
    const schema = db.prepare("SELECT value FROM meta WHERE key = 'schema'").pluck().get();
    const integrity = db.pragma('integrity_check', { simple: true });
    db.close();
    expect(tables).toEqual(['entries', 'meta', 'presence_log']);
    expect(schema).toBe(DATA_SCHEMA_VERSION);
    expect(integrity).toBe('ok');
    expect(counted(upgraded)).toEqual({ grants: 2, vehicles: 2 });
    // Reopening finds schema 2 and keeps the file.
    cache = openListCache(catalog, deps());
    expect(cache.info().file).toBe(upgraded);
  });

  test('refused by openDataFile, read-only or not, naming the file and its schema, and left unchanged', () => {
    const file = join(dir.path, 'old.sqlite');
    writeSchema1(file);
    const size = statSync(file).size;
    for (const readonly of [true, false])
      expect(() => openDataFile(file, { readonly })).toThrow(
        /old\.sqlite: list data schema 1, this zonegate reads 2 \(the gateway upgrades it when it opens its list cache\)/,
      );
    expect(statSync(file).size).toBe(size);
    const db = new Database(file, { readonly: true });
    expect(db.prepare("SELECT count(*) FROM sqlite_schema WHERE name = 'entries'").pluck().get()).toBe(0);
    db.close();
  });
});
