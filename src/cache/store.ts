import Database from 'better-sqlite3';
import { closeSync, fsyncSync, openSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Grant, GrantKind, GrantScope, TimeWindow, VehicleFacts } from '../policy/types.js';
import { formatWindows, parseWindows } from '../policy/windows.js';

/**
 * One version of the lists lives in one SQLite "data file": one `entries` table and a meta table.
 * `entries` holds a plate's grants and its vehicle facts side by side, keyed by (plate, country, id)
 * in a WITHOUT ROWID table: a grant's row has its grant id, the vehicle-facts row has id '' (a grant
 * id is never empty), so it sorts first. Everything decide() needs about a plate is then one B-tree
 * descent ending, nearly always, in one leaf page: at 20 million plates that leaf read from the page
 * cache (or the SD card) is the cost of a lookup, and two tables meant two of them.
 * A full snapshot is built in a fresh data file beside the active one; deltas and CSV imports change
 * the active one in place, in one transaction each.
 *
 * `presence_log` holds the keys that the last in-place changes upserted, numbered by meta
 * `presence_change`, so that every connection's presence filter can catch up with a change another
 * connection made (see applyChange).
 */
export const DATA_SCHEMA_VERSION = 2;

const GRANT_COLUMNS = 'scope, kind, valid_from, valid_until, windows, categories, source_ref';
const VEHICLE_COLUMNS = 'category, fuels, emission_class, first_admission, max_mass, body_codes, body_type';

const DDL = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value ANY) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS entries (
  plate TEXT NOT NULL,
  country TEXT NOT NULL,
  id TEXT NOT NULL,
  scope TEXT,
  kind TEXT,
  valid_from INTEGER,
  valid_until INTEGER,
  windows TEXT,
  categories TEXT,
  source_ref TEXT,
  category TEXT,
  fuels TEXT,
  emission_class INTEGER,
  first_admission INTEGER,
  max_mass INTEGER,
  body_codes TEXT,
  body_type TEXT,
  list_version INTEGER NOT NULL,
  PRIMARY KEY (plate, country, id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS presence_log (
  change INTEGER NOT NULL,
  plate TEXT NOT NULL,
  country TEXT NOT NULL,
  PRIMARY KEY (change, plate, country)
) WITHOUT ROWID;
`;

/** A data file's schema and list version (meta), read without changing anything. */
export function dataFileHeader(file: string): { schema: unknown; version: number } {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const get = db.prepare('SELECT value FROM meta WHERE key = ?').pluck();
    return { schema: get.get('schema'), version: Number(get.get('version') ?? 0) };
  } finally {
    db.close();
  }
}

/**
 * Copies a data file of schema 1 (grants and vehicles in two tables: two descents per plate) into a
 * new data file of this schema, built like a snapshot (no journal, rows in key order, made durable at
 * the end): the list cache then activates the new file as it would a snapshot, so a crash leaves the
 * old file active. Keeps the version and its meta; the presence-log counters start afresh (every
 * presence filter is rebuilt for a new file anyway).
 */
export function upgradeDataFile(schema1File: string, newFile: string): void {
  const db = openDataFile(newFile, { bulk: true, cacheKiB: 65_536 });
  try {
    db.prepare('ATTACH DATABASE ? AS old').run(schema1File);
    db.transaction(() => {
      db.exec(`
        INSERT INTO entries (plate, country, id, ${GRANT_COLUMNS}, ${VEHICLE_COLUMNS}, list_version)
        SELECT * FROM (
          SELECT plate, country, id, ${GRANT_COLUMNS},
                 NULL, NULL, NULL, NULL, NULL, NULL, NULL, list_version FROM old.grants
          UNION ALL
          SELECT plate, country, '', NULL, NULL, NULL, NULL, NULL, NULL, NULL,
                 ${VEHICLE_COLUMNS}, list_version FROM old.vehicles
        ) ORDER BY 1, 2, 3;
        INSERT OR REPLACE INTO meta (key, value)
          SELECT key, value FROM old.meta WHERE key NOT IN ('schema', 'presence_change', 'presence_log_from');
      `);
    })();
    db.exec('DETACH DATABASE old');
  } catch (err) {
    db.close();
    removeDataFile(newFile);
    throw err;
  }
  finishBulk(db, newFile);
}

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

/** The `schema` in a data file's meta; undefined for a new, empty file. */
function schemaIn(db: Db): unknown {
  const hasMeta = db.prepare("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'meta'").pluck().get();
  return hasMeta === undefined ? undefined : db.prepare("SELECT value FROM meta WHERE key = 'schema'").pluck().get();
}

export class DataSchemaError extends Error {
  override name = 'DataSchemaError';
  constructor(
    readonly file: string,
    readonly schema: unknown,
  ) {
    super(
      `${file}: list data schema ${String(schema)}, this zonegate reads ${DATA_SCHEMA_VERSION}` +
        (schema === 1 ? ' (the gateway upgrades it when it opens its list cache)' : ''),
    );
  }
}

export function openDataFile(file: string, options: OpenDataOptions = {}): Db {
  const db = new Database(file, { readonly: options.readonly ?? false, fileMustExist: options.readonly ?? false });
  db.pragma(`cache_size = -${options.cacheKiB ?? 16_384}`);
  const schema = schemaIn(db);
  if (schema !== undefined && schema !== DATA_SCHEMA_VERSION) {
    db.close();
    throw new DataSchemaError(file, schema);
  }
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
  if (schema === undefined) {
    const put = db.prepare('INSERT INTO meta (key, value) VALUES (?, ?)');
    db.transaction(() => {
      put.run('schema', DATA_SCHEMA_VERSION);
      put.run('version', 0);
      put.run('source', 'empty');
      put.run('grants', 0);
      put.run('vehicles', 0);
    })();
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

/**
 * A row of `entries` as stored, in column order: a grant's (vehicle columns null) or the vehicle
 * facts' (id '', grant columns null). The snapshot build inserts these, merged into key order.
 */
export type EntryRecord = [
  plate: string,
  country: string,
  id: string,
  scope: string | null,
  kind: string | null,
  validFrom: number | null,
  validUntil: number | null,
  windows: string | null,
  categories: string | null,
  sourceRef: string | null,
  category: string | null,
  fuels: string | null,
  emissionClass: number | null,
  firstAdmission: number | null,
  maxMass: number | null,
  bodyCodes: string | null,
  bodyType: string | null,
  listVersion: number,
];

/** The id of a plate's vehicle-facts row in `entries`. */
export const VEHICLE_ID = '';

export function grantEntry(r: GrantRecord): EntryRecord {
  return [r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], null, null, null, null, null, null, null, r[10]];
}

export function vehicleEntry(r: VehicleRecord): EntryRecord {
  return [
    r[0],
    r[1],
    VEHICLE_ID,
    null,
    null,
    null,
    null,
    null,
    null,
    null,
    r[2],
    r[3],
    r[4],
    r[5],
    r[6],
    r[7],
    r[8],
    r[9],
  ];
}

/** SQLite's order of `entries` keys (BINARY collation: code units, as JS compares these ASCII keys). */
export function compareEntryKeys(a: EntryRecord, b: EntryRecord): number {
  return a[0] < b[0]
    ? -1
    : a[0] > b[0]
      ? 1
      : a[1] < b[1]
        ? -1
        : a[1] > b[1]
          ? 1
          : a[2] < b[2]
            ? -1
            : a[2] > b[2]
              ? 1
              : 0;
}

/**
 * What `selectEntry` returns per row: an EntryRecord without plate and country (the query's own
 * parameters), from the key's id on.
 */
export type EntryRow = EntryRecord extends [string, string, ...infer Rest] ? Rest : never;

const NO_GRANTS: readonly Grant[] = Object.freeze([]);

/** A plate's rows of `entries` as its grants and vehicle facts. */
export function entryRowsToPlate(
  plate: string,
  country: string,
  rows: readonly EntryRow[],
): { grants: readonly Grant[]; vehicle: VehicleFacts | undefined } {
  let vehicle: VehicleFacts | undefined;
  let grants: Grant[] | undefined;
  for (const r of rows) {
    if (r[0] === VEHICLE_ID) {
      vehicle = recordToVehicle([plate, country, r[8], r[9], r[10], r[11], r[12], r[13], r[14], r[15]]);
    } else {
      // Grant columns are never null in a grant's row (applyChange and the build write them all).
      (grants ??= []).push(recordToGrant([plate, country, r[0], r[1]!, r[2]!, r[3]!, r[4], r[5], r[6], r[7], r[15]]));
    }
  }
  return { grants: grants ?? NO_GRANTS, vehicle };
}

const ENTRY_COLUMNS = `plate, country, id, ${GRANT_COLUMNS}, ${VEHICLE_COLUMNS}, list_version`;

export const SQL = {
  insertEntry: `INSERT OR REPLACE INTO entries (${ENTRY_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
  insertGrant: `INSERT OR REPLACE INTO entries (plate, country, id, ${GRANT_COLUMNS}, list_version) VALUES (?,?,?,?,?,?,?,?,?,?,?)`,
  deleteGrant: `DELETE FROM entries WHERE plate = ? AND country = ? AND id = ? AND id <> ''`,
  hasGrant: `SELECT 1 FROM entries WHERE plate = ? AND country = ? AND id = ? AND id <> ''`,
  insertVehicle: `INSERT OR REPLACE INTO entries (plate, country, id, ${VEHICLE_COLUMNS}, list_version) VALUES (?,?,'',?,?,?,?,?,?,?,?)`,
  deleteVehicle: `DELETE FROM entries WHERE plate = ? AND country = ? AND id = ''`,
  hasVehicle: `SELECT 1 FROM entries WHERE plate = ? AND country = ? AND id = ''`,
  deleteAllGrants: `DELETE FROM entries WHERE id <> ''`,
  deleteAllVehicles: `DELETE FROM entries WHERE id = ''`,
  selectEntry: `SELECT id, ${GRANT_COLUMNS}, ${VEHICLE_COLUMNS}, list_version FROM entries WHERE plate = ? AND country = ?`,
  countGrants: `SELECT count(*) FROM entries WHERE id <> ''`,
  countVehicles: `SELECT count(*) FROM entries WHERE id = ''`,
  selectKeys: 'SELECT DISTINCT plate, country FROM entries',
} as const;
