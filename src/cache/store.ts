import Database from 'better-sqlite3';
import { closeSync, fsyncSync, openSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Grant, GrantKind, GrantScope, TimeWindow, VehicleFacts } from '../policy/types.js';
import { formatWindows, parseWindows } from '../policy/windows.js';

/**
 * One version of the lists lives in one SQLite "data file": grants, vehicle facts and a meta table.
 * Rows are keyed by (plate, country) in WITHOUT ROWID tables, so a lookup is one B-tree descent and the
 * key is stored once. A full snapshot is built in a fresh data file beside the active one; deltas and
 * CSV imports change the active one in place, in one transaction each.
 *
 * `presence_log` (added without a schema change: created at open when missing) holds the keys that
 * the last in-place changes upserted, numbered by meta `presence_change`, so that every connection's
 * presence filter can catch up with a change another connection made (see applyChange).
 */
export const DATA_SCHEMA_VERSION = 1;

const DDL = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value ANY) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS grants (
  plate TEXT NOT NULL,
  country TEXT NOT NULL,
  id TEXT NOT NULL,
  scope TEXT NOT NULL,
  kind TEXT NOT NULL,
  valid_from INTEGER NOT NULL,
  valid_until INTEGER,
  windows TEXT,
  categories TEXT,
  source_ref TEXT,
  list_version INTEGER NOT NULL,
  PRIMARY KEY (plate, country, id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS vehicles (
  plate TEXT NOT NULL,
  country TEXT NOT NULL,
  category TEXT,
  fuels TEXT,
  emission_class INTEGER,
  first_admission INTEGER,
  max_mass INTEGER,
  body_codes TEXT,
  body_type TEXT,
  list_version INTEGER NOT NULL,
  PRIMARY KEY (plate, country)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS presence_log (
  change INTEGER NOT NULL,
  plate TEXT NOT NULL,
  country TEXT NOT NULL,
  PRIMARY KEY (change, plate, country)
) WITHOUT ROWID;
`;

export interface DataMeta {
  version: number;
  publishedAt?: number;
  zone?: string;
  /** 'region' (snapshot or delta), 'import' (CSV on the gateway) or 'empty'. */
  source: string;
  grants: number;
  vehicles: number;
  /** SHA-256 of the snapshot this version was built from, when it came from one. */
  snapshotHash?: string;
}

export type Db = Database.Database;

export interface OpenDataOptions {
  readonly readonly?: boolean;
  /** Bulk build of a new file: no rollback journal, no fsync until `finishBulk`. */
  readonly bulk?: boolean;
  /** SQLite page cache in KiB (the RSS budget of the gateway counts it). */
  readonly cacheKiB?: number;
}

export function openDataFile(file: string, options: OpenDataOptions = {}): Db {
  const db = new Database(file, { readonly: options.readonly ?? false, fileMustExist: options.readonly ?? false });
  db.pragma(`cache_size = -${options.cacheKiB ?? 16_384}`);
  if (options.readonly) return db;
  if (options.bulk) {
    // better-sqlite3 runs SQLite in defensive mode, which refuses journal_mode=OFF; a file being
    // built is scratch until it is activated (a crash leaves it to be removed), so no journal is needed.
    db.unsafeMode(true);
    db.pragma('journal_mode = OFF');
    db.unsafeMode(false);
    db.pragma('synchronous = OFF');
  } else {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
  }
  db.pragma('busy_timeout = 5000');
  db.exec(DDL);
  const v = db.prepare('SELECT value FROM meta WHERE key = ?').pluck().get('schema');
  if (v === undefined) {
    const put = db.prepare('INSERT INTO meta (key, value) VALUES (?, ?)');
    db.transaction(() => {
      put.run('schema', DATA_SCHEMA_VERSION);
      put.run('version', 0);
      put.run('source', 'empty');
      put.run('grants', 0);
      put.run('vehicles', 0);
    })();
  } else if (v !== DATA_SCHEMA_VERSION) {
    db.close();
    throw new Error(`${file}: list data schema ${String(v)}, this zonegate reads ${DATA_SCHEMA_VERSION}`);
  }
  return db;
}

/**
 * Ends a bulk build: back from no journal to a rollback journal, so that the closed file is one self-
 * contained database (openDataFile puts it in WAL when it becomes the active list), then fsync.
 */
export function finishBulk(db: Db, file: string): void {
  db.pragma('journal_mode = DELETE');
  db.close();
  // The file's data, then its directory entry: after a power cut (not only a kill) the catalog
  // may only point at a file whose name is on disk too.
  for (const path of [file, dirname(file)]) {
    const fd = openSync(path, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }
}

/** Removes a data file with SQLite's companions (a replaced version, or a build that is not used). */
export function removeDataFile(file: string): void {
  for (const suffix of ['', '-wal', '-shm', '-journal']) rmSync(file + suffix, { force: true });
}

export function readMeta(db: Db): DataMeta {
  const rows = db.prepare('SELECT key, value FROM meta').raw().all() as [string, unknown][];
  const m = new Map(rows);
  const num = (k: string): number | undefined => {
    const v = m.get(k);
    return typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : undefined;
  };
  const str = (k: string): string | undefined => {
    const v = m.get(k);
    return typeof v === 'string' ? v : undefined;
  };
  return {
    version: num('version') ?? 0,
    ...(num('published_at') !== undefined ? { publishedAt: num('published_at')! } : {}),
    ...(str('zone') !== undefined ? { zone: str('zone')! } : {}),
    source: str('source') ?? 'empty',
    grants: num('grants') ?? 0,
    vehicles: num('vehicles') ?? 0,
    ...(str('snapshot_hash') !== undefined ? { snapshotHash: str('snapshot_hash')! } : {}),
  };
}

export function writeMeta(db: Db, meta: Partial<DataMeta>): void {
  const put = db.prepare('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)');
  const names: Record<keyof DataMeta, string> = {
    version: 'version',
    publishedAt: 'published_at',
    zone: 'zone',
    source: 'source',
    grants: 'grants',
    vehicles: 'vehicles',
    snapshotHash: 'snapshot_hash',
  };
  for (const [k, v] of Object.entries(meta) as [keyof DataMeta, unknown][]) {
    if (v !== undefined) put.run(names[k], v as number | string);
  }
}

// --- row codecs --------------------------------------------------------------------------------

export function encodeScope(scope: GrantScope): string {
  switch (scope.type) {
    case 'national':
      return 'national';
    case 'municipality':
      return `municipality:${scope.code}`;
    case 'zone':
      return `zone:${scope.zone}`;
  }
}

const NATIONAL: GrantScope = Object.freeze({ type: 'national' });

export function decodeScope(text: string): GrantScope | undefined {
  if (text === 'national') return NATIONAL;
  const i = text.indexOf(':');
  if (i < 0) return undefined;
  const kind = text.slice(0, i);
  const value = text.slice(i + 1);
  if (!value) return undefined;
  if (kind === 'municipality') return { type: 'municipality', code: value };
  if (kind === 'zone') return { type: 'zone', zone: value };
  return undefined;
}

/** Grant rows as stored: the order of the INSERT's parameters. */
export type GrantRecord = [
  plate: string,
  country: string,
  id: string,
  scope: string,
  kind: string,
  validFrom: number,
  validUntil: number | null,
  windows: string | null,
  categories: string | null,
  sourceRef: string | null,
  listVersion: number,
];

export function grantToRecord(g: Grant, listVersion: number): GrantRecord {
  return [
    g.plate,
    g.country,
    g.id,
    encodeScope(g.scope),
    g.kind,
    g.validFrom,
    g.validUntil ?? null,
    g.windows.length > 0 ? formatWindows(g.windows) : null,
    g.vehicleCategories && g.vehicleCategories.length > 0 ? g.vehicleCategories.join(' ') : null,
    g.sourceRef ?? null,
    listVersion,
  ];
}

/**
 * Windows strings repeat across millions of grants (a few dozen distinct schedules), so each is parsed
 * once. Bounded: a list with an unexpected variety of windows only costs re-parsing.
 */
const windowsMemo = new Map<string, readonly TimeWindow[]>();
const NO_WINDOWS: readonly TimeWindow[] = Object.freeze([]);

function decodeWindows(text: string | null): readonly TimeWindow[] {
  if (text === null || text === '') return NO_WINDOWS;
  let w = windowsMemo.get(text);
  if (w === undefined) {
    const parsed = parseWindows(text);
    // A stored value that does not parse can only come from a damaged file: fail closed (no window).
    w = typeof parsed === 'string' ? [{ days: [], fromMinute: 0, untilMinute: 0 }] : parsed;
    if (windowsMemo.size > 10_000) windowsMemo.clear();
    windowsMemo.set(text, w);
  }
  return w;
}

export function recordToGrant(r: GrantRecord): Grant {
  const scope = decodeScope(r[3]) ?? { type: 'zone', zone: '\0invalid' };
  return {
    plate: r[0],
    country: r[1],
    id: r[2],
    scope,
    kind: r[4] as GrantKind,
    validFrom: r[5],
    ...(r[6] !== null ? { validUntil: r[6] } : {}),
    windows: decodeWindows(r[7]),
    ...(r[8] !== null ? { vehicleCategories: r[8].split(' ') } : {}),
    ...(r[9] !== null ? { sourceRef: r[9] } : {}),
    listVersion: r[10],
  };
}

export type VehicleRecord = [
  plate: string,
  country: string,
  category: string | null,
  fuels: string | null,
  emissionClass: number | null,
  firstAdmission: number | null,
  maxMass: number | null,
  bodyCodes: string | null,
  bodyType: string | null,
  listVersion: number,
];

export function vehicleToRecord(v: VehicleFacts, listVersion: number): VehicleRecord {
  return [
    v.plate,
    v.country,
    v.category ?? null,
    v.fuels.length > 0 ? v.fuels.join('/') : null,
    v.emissionClass ?? null,
    v.firstAdmission ?? null,
    v.maxMass ?? null,
    v.bodyCodes.length > 0 ? v.bodyCodes.join(' ') : null,
    v.bodyType ?? null,
    listVersion,
  ];
}

const NO_STRINGS: readonly string[] = Object.freeze([]);

export function recordToVehicle(r: VehicleRecord): VehicleFacts {
  return {
    plate: r[0],
    country: r[1],
    ...(r[2] !== null ? { category: r[2] } : {}),
    fuels: r[3] !== null ? r[3].split('/') : NO_STRINGS,
    ...(r[4] !== null ? { emissionClass: r[4] } : {}),
    ...(r[5] !== null ? { firstAdmission: r[5] } : {}),
    ...(r[6] !== null ? { maxMass: r[6] } : {}),
    bodyCodes: r[7] !== null ? r[7].split(' ') : NO_STRINGS,
    ...(r[8] !== null ? { bodyType: r[8] } : {}),
    listVersion: r[9],
  };
}

export const SQL = {
  insertGrant: `INSERT OR REPLACE INTO grants (plate, country, id, scope, kind, valid_from, valid_until, windows, categories, source_ref, list_version) VALUES (?,?,?,?,?,?,?,?,?,?,?)`,
  deleteGrant: 'DELETE FROM grants WHERE plate = ? AND country = ? AND id = ?',
  insertVehicle: `INSERT OR REPLACE INTO vehicles (plate, country, category, fuels, emission_class, first_admission, max_mass, body_codes, body_type, list_version) VALUES (?,?,?,?,?,?,?,?,?,?)`,
  deleteVehicle: 'DELETE FROM vehicles WHERE plate = ? AND country = ?',
  selectGrants:
    'SELECT plate, country, id, scope, kind, valid_from, valid_until, windows, categories, source_ref, list_version FROM grants WHERE plate = ? AND country = ?',
  selectVehicle:
    'SELECT plate, country, category, fuels, emission_class, first_admission, max_mass, body_codes, body_type, list_version FROM vehicles WHERE plate = ? AND country = ?',
  countGrants: 'SELECT count(*) FROM grants',
  countVehicles: 'SELECT count(*) FROM vehicles',
} as const;
