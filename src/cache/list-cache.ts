import Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Registry } from 'prom-client';
import type { Grant, Lookups, VehicleFacts } from '../policy/types.js';
import type { Clock } from '../shared/clock.js';
import type { Logger } from '../shared/log.js';
import { gauge } from '../shared/metrics.js';
import {
  SQL,
  grantToRecord,
  openDataFile,
  readMeta,
  recordToGrant,
  recordToVehicle,
  removeDataFile,
  vehicleToRecord,
  writeMeta,
  type DataMeta,
  type Db,
  type GrantRecord,
  type VehicleRecord,
} from './store.js';

export interface ListCacheDeps {
  readonly clock: Clock;
  readonly log: Logger;
  readonly registry: Registry;
}

export interface ListCacheOptions {
  /**
   * Remove data files that no version points to (left by an apply that was killed). Only the process
   * that owns the cache (the gateway) may do this; CLI commands that open a running gateway's cache
   * must not, or they would delete a snapshot being built.
   */
  readonly cleanup?: boolean;
  /** SQLite page cache of the lookup connection, KiB (default 16 MiB). */
  readonly cacheKiB?: number;
}

export interface ListCacheInfo {
  readonly version: number;
  readonly publishedAt?: number;
  readonly ageSeconds?: number;
  readonly source: string;
  readonly zone?: string;
  readonly grants: number;
  readonly vehicles: number;
  /** The active data file. */
  readonly file: string;
}

export interface GrantKey {
  readonly plate: string;
  readonly country: string;
  readonly id: string;
}

export interface PlateRef {
  readonly plate: string;
  readonly country: string;
}

/** A change applied to the active version in one transaction (CSV import, region delta). */
export interface InPlaceChange {
  readonly version: number;
  readonly publishedAt?: number;
  readonly source: 'import' | 'region';
  readonly zone?: string;
  /** Refuse (throw, nothing applied) unless the file is at this version and from this source. */
  readonly expect?: { readonly version: number; readonly source: string };
  /** Remove every grant first (a CSV import of grants is the complete list). */
  readonly replaceGrants?: boolean;
  /** Remove every vehicle first. */
  readonly replaceVehicles?: boolean;
  readonly upsertGrants?: readonly Grant[];
  readonly deleteGrants?: readonly GrantKey[];
  readonly upsertVehicles?: readonly VehicleFacts[];
  readonly deleteVehicles?: readonly PlateRef[];
}

export interface ListCache {
  /** Synchronous lookups for decide(), on prepared statements of the active version. */
  readonly lookups: Lookups;
  info(): ListCacheInfo;
  /** The catalog file (lists.sqlite). */
  readonly file: string;
  /** Folder of the data files, one per version built from a snapshot. */
  readonly dataDir: string;
  /** Picks up a change committed by another connection (a CSV import, a delta applied by the sync worker). */
  refresh(): void;
  /** Applies a change to the active version atomically: all of it or, on any error, none of it. */
  applyInPlace(change: InPlaceChange): void;
  /** A fresh path for a new version's data file, inside dataDir. */
  newDataFile(version: number): string;
  /**
   * Makes a fully built, durable data file the active version: one catalog transaction, then the
   * lookups move to it and the old file is removed. A crash at any point leaves old or new active.
   * `regionVersion` is recorded in the same catalog transaction.
   */
  activate(dataFile: string, regionVersion?: number): void;
  /**
   * Reads the active data file once, in the background, so the operating system holds it in its page
   * cache: the first passage of a plate then does not wait for the SD card. Not in the process's RSS.
   * Resolves when done (or when the file was replaced meanwhile).
   */
  prewarm(): Promise<void>;
  /** Highest region version ever accepted (replay protection survives a local CSV import). */
  regionVersion(): number;
  setRegionVersion(version: number): void;
  close(): void;
}

const EMPTY_GRANTS: readonly Grant[] = Object.freeze([]);
/** Plates per `listed` query; more are split (a read has at most a few dozen corrections). */
const LISTED_MAX = 16;
const DATA_FILE = /^v\d+-[0-9a-f]+\.sqlite(-wal|-shm|-journal)?$/;

class SqliteListCache implements ListCache {
  readonly file: string;
  readonly dataDir: string;
  readonly #deps: ListCacheDeps;
  readonly #options: ListCacheOptions;
  readonly #catalog: Db;
  #catGet: Database.Statement<[string], unknown> | undefined;
  #catSet: Database.Statement<[string, string | number]> | undefined;
  #db!: Db;
  #activeName!: string;
  #meta!: DataMeta;
  #selGrants!: Database.Statement<[string, string], GrantRecord>;
  #selVehicle!: Database.Statement<[string, string], VehicleRecord>;
  #dataVersion!: Database.Statement<[], number>;
  /** `listed` statements by number of plates, and with/without vehicles: each prepared once per version. */
  #listed: Database.Statement<unknown[], string>[] = [];
  #lastDataVersion = -1;
  readonly #gauges;
  readonly lookups: Lookups;

  constructor(file: string, deps: ListCacheDeps, options: ListCacheOptions) {
    this.file = file;
    this.dataDir = join(dirname(file), `${basename(file)}.d`);
    this.#deps = deps;
    this.#options = options;
    mkdirSync(this.dataDir, { recursive: true });
    this.#catalog = new Database(file);
    this.#catalog.pragma('journal_mode = WAL');
    // The catalog decides which version is active: its commit must survive a power cut.
    this.#catalog.pragma('synchronous = FULL');
    this.#catalog.pragma('busy_timeout = 5000');
    this.#catalog.exec('CREATE TABLE IF NOT EXISTS catalog (key TEXT PRIMARY KEY, value ANY) WITHOUT ROWID');
    const r = deps.registry;
    this.#gauges = {
      version: gauge(r, 'zonegate_list_version', 'Version of the active list'),
      age: gauge(r, 'zonegate_list_age_seconds', 'Age of the active list since the region published it'),
      grants: gauge(r, 'zonegate_list_grants', 'Grants in the active list'),
      vehicles: gauge(r, 'zonegate_list_vehicles', 'Vehicle facts in the active list'),
    };
    let active = this.#catalogGet('active') as string | undefined;
    if (active !== undefined && !existsSync(join(this.dataDir, active))) {
      deps.log.error(
        { file: join(this.dataDir, active) },
        'active list data file is missing: starting with an empty list',
      );
      active = undefined;
    }
    if (active === undefined) {
      const fresh = this.newDataFile(0);
      openDataFile(fresh).close();
      this.#catalogSet('active', basename(fresh));
      active = basename(fresh);
    }
    this.#open(active);
    if (options.cleanup ?? true) this.#removeStrayFiles();
    const lookups = {
      grants: (plate: string, country: string): readonly Grant[] => {
        const rows = this.#selGrants.all(plate, country);
        if (rows.length === 0) return EMPTY_GRANTS;
        const out = new Array<Grant>(rows.length);
        for (let i = 0; i < rows.length; i++) out[i] = recordToGrant(rows[i]!);
        return out;
      },
      vehicle: (plate: string, country: string): VehicleFacts | undefined => {
        const row = this.#selVehicle.get(plate, country);
        return row === undefined ? undefined : recordToVehicle(row);
      },
      listed: (plates: readonly string[], country: string, vehicles: boolean): readonly string[] => {
        if (plates.length === 0) return plates;
        const out: string[] = [];
        for (let i = 0; i < plates.length; i += LISTED_MAX) {
          const part = plates.slice(i, i + LISTED_MAX);
          const stmt = this.#listedStatement(part.length, vehicles);
          const args = vehicles ? [country, ...part, country, ...part] : [country, ...part];
          for (const p of stmt.all(...args)) out.push(p);
        }
        return out;
      },
    };
    this.lookups = Object.defineProperties(lookups, {
      listVersion: {
        enumerable: true,
        get: (): number => {
          this.#checkForeignCommit();
          return this.#meta.version;
        },
      },
      listPublishedAt: { enumerable: true, get: (): number | undefined => this.#meta.publishedAt },
    }) as Lookups;
  }

  #catalogGet(key: string): unknown {
    this.#catGet ??= this.#catalog.prepare('SELECT value FROM catalog WHERE key = ?').pluck();
    return this.#catGet.get(key);
  }

  #catalogSet(key: string, value: string | number): void {
    this.#catSet ??= this.#catalog.prepare('INSERT OR REPLACE INTO catalog (key, value) VALUES (?, ?)');
    this.#catSet.run(key, value);
  }

  #open(name: string): void {
    const db = openDataFile(join(this.dataDir, name), { cacheKiB: this.#options.cacheKiB ?? 16_384 });
    const selGrants = db.prepare(SQL.selectGrants).raw() as unknown as Database.Statement<
      [string, string],
      GrantRecord
    >;
    const selVehicle = db.prepare(SQL.selectVehicle).raw() as unknown as Database.Statement<
      [string, string],
      VehicleRecord
    >;
    const dataVersion = db.prepare('PRAGMA data_version').pluck() as Database.Statement<[], number>;
    const old = this.#db as Db | undefined;
    this.#db = db;
    this.#selGrants = selGrants;
    this.#selVehicle = selVehicle;
    this.#dataVersion = dataVersion;
    this.#listed = [];
    this.#activeName = name;
    this.#lastDataVersion = dataVersion.get()!;
    this.#meta = readMeta(db);
    this.#updateGauges();
    old?.close();
  }

  #listedStatement(n: number, vehicles: boolean): Database.Statement<unknown[], string> {
    const slot = n * 2 + (vehicles ? 1 : 0);
    let stmt = this.#listed[slot];
    if (stmt === undefined) {
      const marks = new Array(n).fill('?').join(',');
      const sql = vehicles
        ? `SELECT plate FROM grants WHERE country = ? AND plate IN (${marks}) UNION SELECT plate FROM vehicles WHERE country = ? AND plate IN (${marks})`
        : `SELECT DISTINCT plate FROM grants WHERE country = ? AND plate IN (${marks})`;
      stmt = this.#db.prepare(sql).pluck() as Database.Statement<unknown[], string>;
      this.#listed[slot] = stmt;
    }
    return stmt;
  }

  #checkForeignCommit(): void {
    const v = this.#dataVersion.get()!;
    if (v !== this.#lastDataVersion) {
      this.#lastDataVersion = v;
      this.#meta = readMeta(this.#db);
      this.#updateGauges();
    }
  }

  #updateGauges(): void {
    this.#gauges.version.set(this.#meta.version);
    this.#gauges.grants.set(this.#meta.grants);
    this.#gauges.vehicles.set(this.#meta.vehicles);
    const age = this.#ageSeconds();
    if (age !== undefined) this.#gauges.age.set(age);
  }

  #ageSeconds(): number | undefined {
    return this.#meta.publishedAt === undefined
      ? undefined
      : Math.max(0, (this.#deps.clock.now() - this.#meta.publishedAt) / 1000);
  }

  #removeStrayFiles(): void {
    for (const name of readdirSync(this.dataDir)) {
      if (!DATA_FILE.test(name) || name.startsWith(this.#activeName)) continue;
      rmSync(join(this.dataDir, name), { force: true });
      this.#deps.log.info({ file: name }, 'removed a list data file no version points to');
    }
  }

  info(): ListCacheInfo {
    this.#checkForeignCommit();
    const m = this.#meta;
    const age = this.#ageSeconds();
    if (age !== undefined) this.#gauges.age.set(age);
    return {
      version: m.version,
      ...(m.publishedAt !== undefined ? { publishedAt: m.publishedAt } : {}),
      ...(age !== undefined ? { ageSeconds: age } : {}),
      source: m.source,
      ...(m.zone !== undefined ? { zone: m.zone } : {}),
      grants: m.grants,
      vehicles: m.vehicles,
      file: join(this.dataDir, this.#activeName),
    };
  }

  refresh(): void {
    this.#checkForeignCommit();
  }

  applyInPlace(change: InPlaceChange): void {
    applyChange(this.#db, change);
    this.#lastDataVersion = this.#dataVersion.get()!;
    this.#meta = readMeta(this.#db);
    this.#updateGauges();
  }

  newDataFile(version: number): string {
    return join(this.dataDir, `v${version}-${randomBytes(4).toString('hex')}.sqlite`);
  }

  activate(dataFile: string, regionVersion?: number): void {
    const name = basename(dataFile);
    if (dirname(dataFile) !== this.dataDir) throw new Error(`activate: ${dataFile} is not in ${this.dataDir}`);
    const previous = this.#activeName;
    // Never lowered: replay protection must not weaken because a snapshot raced a delta.
    const region = regionVersion === undefined ? undefined : Math.max(regionVersion, this.regionVersion());
    this.#catalog.transaction(() => {
      this.#catalogSet('active', name);
      if (region !== undefined) this.#catalogSet('region_version', region);
    })();
    this.#open(name);
    removeDataFile(join(this.dataDir, previous));
  }

  async prewarm(): Promise<void> {
    const name = this.#activeName;
    const fh = await open(join(this.dataDir, name), 'r');
    try {
      const buf = Buffer.allocUnsafe(4 << 20);
      for (let pos = 0; this.#activeName === name;) {
        const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
        if (bytesRead === 0) break;
        pos += bytesRead;
      }
    } finally {
      await fh.close();
    }
  }

  regionVersion(): number {
    const v = this.#catalogGet('region_version');
    const recorded = typeof v === 'number' ? v : 0;
    // A delta commits in the data file first: if the process died before the catalog caught up, the
    // data file's own version is the truth.
    this.#checkForeignCommit();
    return this.#meta.source === 'region' ? Math.max(recorded, this.#meta.version) : recorded;
  }

  setRegionVersion(version: number): void {
    this.#catalogSet('region_version', Math.max(version, this.regionVersion()));
  }

  close(): void {
    this.#db.close();
    this.#catalog.close();
  }
}

export class VersionMismatchError extends Error {
  override name = 'VersionMismatchError';
}

/**
 * One transaction on a data file: every row of the change or none. Counts are kept in meta so that
 * `info()` never scans 20 million rows.
 */
export function applyChange(db: Db, change: InPlaceChange): void {
  const insGrant = db.prepare(SQL.insertGrant);
  const delGrant = db.prepare(SQL.deleteGrant);
  const insVehicle = db.prepare(SQL.insertVehicle);
  const delVehicle = db.prepare(SQL.deleteVehicle);
  const hasGrant = db.prepare('SELECT 1 FROM grants WHERE plate = ? AND country = ? AND id = ?').pluck();
  const hasVehicle = db.prepare('SELECT 1 FROM vehicles WHERE plate = ? AND country = ?').pluck();
  db.transaction(() => {
    const meta = readMeta(db);
    if (change.expect && (meta.version !== change.expect.version || meta.source !== change.expect.source))
      throw new VersionMismatchError(
        `the list is at version ${meta.version} (${meta.source}), the change needs ${change.expect.version} (${change.expect.source})`,
      );
    let grants = meta.grants;
    let vehicles = meta.vehicles;
    if (change.replaceGrants) {
      db.exec('DELETE FROM grants');
      grants = 0;
    }
    if (change.replaceVehicles) {
      db.exec('DELETE FROM vehicles');
      vehicles = 0;
    }
    for (const k of change.deleteGrants ?? []) grants -= delGrant.run(k.plate, k.country, k.id).changes;
    for (const k of change.deleteVehicles ?? []) vehicles -= delVehicle.run(k.plate, k.country).changes;
    for (const g of change.upsertGrants ?? []) {
      if (hasGrant.get(g.plate, g.country, g.id) === undefined) grants++;
      insGrant.run(...grantToRecord(g, change.version));
    }
    for (const v of change.upsertVehicles ?? []) {
      if (hasVehicle.get(v.plate, v.country) === undefined) vehicles++;
      insVehicle.run(...vehicleToRecord(v, change.version));
    }
    writeMeta(db, {
      version: change.version,
      ...(change.publishedAt !== undefined ? { publishedAt: change.publishedAt } : {}),
      ...(change.zone !== undefined ? { zone: change.zone } : {}),
      source: change.source,
      grants,
      vehicles,
    });
  })();
}

/**
 * Opens (creating when needed) the list cache at `file` (the catalog, {dataDir}/lists.sqlite) and its
 * active data file. Lookups are synchronous and run on statements prepared once per version.
 */
export function openListCache(file: string, deps: ListCacheDeps, options: ListCacheOptions = {}): ListCache {
  return new SqliteListCache(file, deps, options);
}
