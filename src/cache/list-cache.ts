import Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Registry } from 'prom-client';
import type { Grant, Lookups, PlateEntry, VehicleFacts } from '../policy/types.js';
import type { Clock } from '../shared/clock.js';
import type { Logger } from '../shared/log.js';
import { gauge } from '../shared/metrics.js';
import { PRESENCE_FILE_ENV, PresenceFilter, type PresenceBuildReply } from './presence.js';
import {
  SQL,
  dataFileHeader,
  entryRowsToPlate,
  grantToRecord,
  openDataFile,
  readMeta,
  removeDataFile,
  upgradeDataFile,
  vehicleToRecord,
  writeMeta,
  type DataMeta,
  type Db,
  type EntryRow,
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
   * Then builds the presence filter of the active version in a child process (and keeps one from now
   * on, rebuilt for every version activated). Resolves when both are done (or when the file was
   * replaced meanwhile); lookups work all the while, without the filter until it is installed.
   */
  prewarm(): Promise<void>;
  /** Highest region version ever accepted (replay protection survives a local CSV import). */
  regionVersion(): number;
  setRegionVersion(version: number): void;
  close(): void;
}

const EMPTY_GRANTS: readonly Grant[] = Object.freeze([]);
const UNKNOWN_PLATE: PlateEntry = Object.freeze({ grants: EMPTY_GRANTS, vehicle: undefined });
/** Plates per `listed` query; more are split (a read has at most a few dozen corrections). */
const LISTED_MAX = 16;
/** A data file, its SQLite companions, and the spool of chunks of a snapshot being built into it. */
const DATA_FILE = /^v\d+-[0-9a-f]+\.sqlite(-wal|-shm|-journal|\.chunks)?$/;
const NO_PLATES: readonly string[] = Object.freeze([]);
/** presence_log keeps the keys of this many last changes (older filters rebuild instead). */
export const PRESENCE_LOG_CHANGES = 256;
/** A change upserting more keys than this is not logged: every filter older than it rebuilds. */
export const PRESENCE_LOG_MAX_KEYS = 10_000;

/** The process that builds a presence filter, from the TypeScript sources (tests, tsx) or from dist. */
function startPresenceProcess(file: string): ChildProcess {
  const ts = import.meta.url.endsWith('.ts');
  const url = new URL(`./presence-worker${ts ? '.ts' : '.js'}`, import.meta.url);
  const args = ts
    ? [
        '--input-type=module',
        '-e',
        `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(url.href)}); })`,
      ]
    : [fileURLToPath(url)];
  return spawn(process.execPath, args, {
    // From the sources: tsx resolves from the repository.
    ...(ts ? { cwd: fileURLToPath(new URL('../..', import.meta.url)) } : {}),
    env: { ...process.env, [PRESENCE_FILE_ENV]: file },
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    serialization: 'advanced',
  });
}

/** The filter of the active data file and the presence_change counter it has caught up with. */
interface Presence {
  readonly filter: PresenceFilter;
  change: number;
  /** Keys added from presence_log since the build. */
  caughtUp: number;
}

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
  #selEntry!: Database.Statement<[string, string], EntryRow>;
  #dataVersion!: Database.Statement<[], number>;
  /** `listed` statements by number of plates, and with/without vehicles: each prepared once per version. */
  #listed: Database.Statement<unknown[], string>[] = [];
  #lastDataVersion = -1;
  #selPresenceMeta!: Database.Statement<[], [string, unknown]>;
  #selPresenceLog!: Database.Statement<[number], [string, string]>;
  /** Installed and current: a key it does not contain has no entries. */
  #presence: Presence | undefined;
  /** Keep a presence filter (set by prewarm: the gateway and the benchmarks, not one-shot CLI commands). */
  #presenceWanted = false;
  #presenceBuild: { readonly name: string; readonly child: ChildProcess; readonly done: Promise<void> } | undefined;
  #closed = false;
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
      presence: gauge(
        r,
        'zonegate_list_presence_filter',
        '1 while the in-memory presence filter of the active list answers misses, 0 while lookups go to SQLite',
      ),
      presenceBytes: gauge(r, 'zonegate_list_presence_filter_bytes', 'Memory of the presence filter'),
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
    this.#open(this.#upgraded(active));
    if (options.cleanup ?? true) this.#removeStrayFiles();
    const lookups = {
      entry: (plate: string, country: string): PlateEntry => {
        if (this.#presence !== undefined && this.#absent(plate, country)) return UNKNOWN_PLATE;
        const rows = this.#selEntry.all(plate, country);
        return rows.length === 0 ? UNKNOWN_PLATE : entryRowsToPlate(plate, country, rows);
      },
      listed: (all: readonly string[], country: string, vehicles: boolean): readonly string[] => {
        const plates = this.#presence === undefined ? all : this.#maybeListed(all, country);
        if (plates.length === 0) return plates;
        const out: string[] = [];
        for (let i = 0; i < plates.length; i += LISTED_MAX) {
          const part = plates.slice(i, i + LISTED_MAX);
          const stmt = this.#listedStatement(part.length, vehicles);
          for (const p of stmt.all(country, ...part)) out.push(p);
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

  /**
   * The active data file in this schema: one of schema 1 is copied into a new file, which is then
   * activated like a snapshot (a crash on the way leaves the old one active, to be copied again).
   */
  #upgraded(name: string): string {
    const old = join(this.dataDir, name);
    let header: { schema: unknown; version: number };
    try {
      header = dataFileHeader(old);
    } catch {
      return name; // not an old list file: opening it says what is wrong
    }
    const { schema, version } = header;
    if (schema !== 1) return name;
    const started = Date.now();
    const fresh = this.newDataFile(version);
    upgradeDataFile(old, fresh);
    this.#catalogSet('active', basename(fresh));
    removeDataFile(old);
    this.#deps.log.info(
      { from: name, to: basename(fresh), seconds: (Date.now() - started) / 1000 },
      'list data file upgraded to one entries table (schema 2)',
    );
    return basename(fresh);
  }

  #open(name: string): void {
    const db = openDataFile(join(this.dataDir, name), { cacheKiB: this.#options.cacheKiB ?? 16_384 });
    const selEntry = db.prepare(SQL.selectEntry).raw() as unknown as Database.Statement<[string, string], EntryRow>;
    const dataVersion = db.prepare('PRAGMA data_version').pluck() as Database.Statement<[], number>;
    const presenceMeta = db
      .prepare("SELECT key, value FROM meta WHERE key IN ('presence_change', 'presence_log_from')")
      .raw() as unknown as Database.Statement<[], [string, unknown]>;
    const presenceLog = db
      .prepare('SELECT plate, country FROM presence_log WHERE change > ?')
      .raw() as unknown as Database.Statement<[number], [string, string]>;
    const old = this.#db as Db | undefined;
    this.#db = db;
    this.#selEntry = selEntry;
    this.#dataVersion = dataVersion;
    this.#selPresenceMeta = presenceMeta;
    this.#selPresenceLog = presenceLog;
    this.#listed = [];
    const switched = old !== undefined;
    this.#activeName = name;
    this.#lastDataVersion = dataVersion.get()!;
    this.#meta = readMeta(db);
    this.#updateGauges();
    old?.close();
    if (switched) {
      // A new version: the old filter says nothing about it.
      this.#dropPresence('a new list version was activated', false);
      this.#presenceBuild?.child.kill();
      this.#presenceBuild = undefined;
      if (this.#presenceWanted) void this.#buildPresence();
    }
  }

  /** True when the key is definitely absent from the list (the filter, brought up to date, lacks it). */
  #absent(plate: string, country: string): boolean {
    if (this.#presence!.filter.mightContain(plate, country)) return false;
    // Another connection may have committed a change adding it: catch up first (a cheap PRAGMA).
    if (!this.#checkForeignCommit()) return true;
    const p = this.#presence;
    return p !== undefined && !p.filter.mightContain(plate, country);
  }

  #maybeListed(plates: readonly string[], country: string): readonly string[] {
    if (plates.length === 0) return plates;
    let out = this.#filterPlates(plates, country);
    if (out.length < plates.length && this.#checkForeignCommit()) out = this.#filterPlates(plates, country);
    return out;
  }

  #filterPlates(plates: readonly string[], country: string): readonly string[] {
    const p = this.#presence;
    if (p === undefined) return plates;
    let out: string[] | undefined;
    for (const plate of plates) {
      if (p.filter.mightContain(plate, country)) (out ??= []).push(plate);
    }
    return out ?? NO_PLATES;
  }

  /**
   * Brings the filter up to the file's presence_change counter by adding the keys that presence_log
   * holds for the changes after the filter's; drops it (and rebuilds) when the log does not reach back
   * that far or anything does not add up.
   */
  #presenceCatchUp(): void {
    const p = this.#presence;
    if (p === undefined) return;
    let r: { change: number; keys: [string, string][] } | string;
    try {
      r = this.#db.transaction((from: number) => {
        const m = new Map(this.#selPresenceMeta.all());
        const change = Number(m.get('presence_change') ?? 0);
        if (change === from) return { change, keys: [] };
        if (!(change > from)) return `the change counter went from ${from} back to ${change}`;
        const logFrom = Number(m.get('presence_log_from') ?? 1);
        if (from + 1 < logFrom) return `the presence log starts at change ${logFrom}, the filter is at ${from}`;
        return { change, keys: this.#selPresenceLog.all(from) };
      })(p.change);
    } catch (err) {
      r = `reading the presence log failed: ${(err as Error).message}`;
    }
    if (typeof r === 'string') {
      this.#dropPresence(r, true);
      return;
    }
    for (const [plate, country] of r.keys) p.filter.add(plate, country);
    p.change = r.change;
    p.caughtUp += r.keys.length;
    if (p.caughtUp > p.filter.capacity / 4 && this.#presenceBuild === undefined) {
      // Still correct, but its false "maybe"s grow: a bigger one replaces it when built.
      this.#deps.log.info({ keys: p.caughtUp }, 'list presence filter filled up by changes: rebuilding');
      void this.#buildPresence();
    }
  }

  #dropPresence(reason: string, rebuild: boolean): void {
    if (this.#presence === undefined) return;
    this.#presence = undefined;
    this.#gauges.presence.set(0);
    this.#gauges.presenceBytes.set(0);
    this.#deps.log.info({ reason }, 'list presence filter dropped: lookups go to SQLite until it is rebuilt');
    if (rebuild && this.#presenceWanted) void this.#buildPresence();
  }

  /** Builds the active file's filter in a child process; one build per file at a time. */
  #buildPresence(): Promise<void> {
    const name = this.#activeName;
    if (this.#presenceBuild?.name === name) return this.#presenceBuild.done;
    const file = join(this.dataDir, name);
    const started = Date.now();
    const child = startPresenceProcess(file);
    const done = new Promise<void>((resolve) => {
      let settled = false;
      const finish = (): void => {
        if (settled) return;
        settled = true;
        if (this.#presenceBuild?.child === child) this.#presenceBuild = undefined;
        resolve();
      };
      child.once('message', (r: PresenceBuildReply) => {
        this.#installPresence(name, r, started);
        finish();
      });
      child.once('error', (err) => {
        this.#deps.log.warn({ err: err.message, file }, 'building the list presence filter failed');
        finish();
      });
      // 'close', not 'exit': it comes after the IPC channel is drained, so after the message.
      child.once('close', (code, signal) => {
        if (!settled && code !== 0 && signal !== 'SIGTERM')
          this.#deps.log.warn({ code, signal, file }, 'the list presence filter build ended without a filter');
        finish();
      });
    });
    this.#presenceBuild = { name, child, done };
    return done;
  }

  #installPresence(name: string, r: PresenceBuildReply, started: number): void {
    if (this.#closed || name !== this.#activeName) return;
    if (!r.ok) {
      this.#deps.log.warn({ err: r.error, file: name }, 'building the list presence filter failed');
      return;
    }
    const filter = PresenceFilter.fromWords(r.words, r.added);
    this.#presence = { filter, change: r.change, caughtUp: 0 };
    // Changes committed since the build's scan.
    this.#presenceCatchUp();
    if (this.#presence === undefined) return;
    this.#gauges.presence.set(1);
    this.#gauges.presenceBytes.set(filter.bytes);
    this.#deps.log.info(
      {
        file: name,
        keys: r.added,
        MB: Math.round(filter.bytes / 1e5) / 10,
        seconds: (Date.now() - started) / 1000,
        change: r.change,
      },
      'list presence filter built',
    );
  }

  #listedStatement(n: number, vehicles: boolean): Database.Statement<unknown[], string> {
    const slot = n * 2 + (vehicles ? 1 : 0);
    let stmt = this.#listed[slot];
    if (stmt === undefined) {
      const marks = new Array(n).fill('?').join(',');
      const sql = vehicles
        ? `SELECT DISTINCT plate FROM entries WHERE country = ? AND plate IN (${marks})`
        : `SELECT DISTINCT plate FROM entries WHERE country = ? AND plate IN (${marks}) AND id <> ''`;
      stmt = this.#db.prepare(sql).pluck() as Database.Statement<unknown[], string>;
      this.#listed[slot] = stmt;
    }
    return stmt;
  }

  /** Picks up what other connections committed; true when there was something. */
  #checkForeignCommit(): boolean {
    const v = this.#dataVersion.get()!;
    if (v === this.#lastDataVersion) return false;
    this.#lastDataVersion = v;
    this.#meta = readMeta(this.#db);
    this.#updateGauges();
    this.#presenceCatchUp();
    return true;
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
      // The active file and its SQLite companions stay; a spool is never the active file's.
      if (!DATA_FILE.test(name) || (name.startsWith(this.#activeName) && !name.endsWith('.chunks'))) continue;
      rmSync(join(this.dataDir, name), { recursive: true, force: true });
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
    // Read before the catch-up: a foreign commit after this read is seen by the next check.
    this.#lastDataVersion = this.#dataVersion.get()!;
    this.#meta = readMeta(this.#db);
    this.#updateGauges();
    // This change's keys, and any other connection's committed just before it.
    this.#presenceCatchUp();
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
    this.#presenceWanted = true;
    await this.#readIntoPageCache(this.#activeName);
    if (!this.#closed && this.#presence === undefined) await this.#buildPresence();
  }

  async #readIntoPageCache(name: string): Promise<void> {
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
    this.#closed = true;
    this.#presenceBuild?.child.kill();
    this.#presenceBuild = undefined;
    this.#presence = undefined;
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
  const hasGrant = db.prepare(SQL.hasGrant).pluck();
  const hasVehicle = db.prepare(SQL.hasVehicle).pluck();
  const getMeta = db.prepare('SELECT value FROM meta WHERE key = ?').pluck();
  const putMeta = db.prepare('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)');
  const logKey = db.prepare('INSERT OR IGNORE INTO presence_log (change, plate, country) VALUES (?, ?, ?)');
  const pruneLog = db.prepare('DELETE FROM presence_log WHERE change < ?');
  db.transaction(() => {
    const meta = readMeta(db);
    if (change.expect && (meta.version !== change.expect.version || meta.source !== change.expect.source))
      throw new VersionMismatchError(
        `the list is at version ${meta.version} (${meta.source}), the change needs ${change.expect.version} (${change.expect.source})`,
      );
    let grants = meta.grants;
    let vehicles = meta.vehicles;
    if (change.replaceGrants) {
      db.exec(SQL.deleteAllGrants);
      grants = 0;
    }
    if (change.replaceVehicles) {
      db.exec(SQL.deleteAllVehicles);
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
    // The presence filters of every connection (see SqliteListCache#presenceCatchUp): number this
    // change, log the keys it may have added (deletes need nothing: a filter may hold more keys than
    // the list), keep the last PRESENCE_LOG_CHANGES changes. presence_log_from: the log holds every key
    // of every change from this number on.
    const counter = Number(getMeta.get('presence_change') ?? 0) + 1;
    let logFrom = Number(getMeta.get('presence_log_from') ?? 1);
    const upserts = (change.upsertGrants?.length ?? 0) + (change.upsertVehicles?.length ?? 0);
    if (upserts > PRESENCE_LOG_MAX_KEYS) logFrom = counter + 1;
    else {
      for (const g of change.upsertGrants ?? []) logKey.run(counter, g.plate, g.country);
      for (const v of change.upsertVehicles ?? []) logKey.run(counter, v.plate, v.country);
    }
    logFrom = Math.max(logFrom, counter - PRESENCE_LOG_CHANGES + 1);
    pruneLog.run(logFrom);
    putMeta.run('presence_change', counter);
    putMeta.run('presence_log_from', logFrom);
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
