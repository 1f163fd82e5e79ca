import type Database from 'better-sqlite3';
import type { Grant, VehicleFacts } from '../policy/types.js';
import {
  SQL,
  compareEntryKeys,
  finishBulk,
  grantEntry,
  grantToRecord,
  openDataFile,
  vehicleEntry,
  vehicleToRecord,
  writeMeta,
  type DataMeta,
  type Db,
  type EntryRecord,
  type GrantRecord,
  type VehicleRecord,
} from './store.js';

/** Rows per multi-row INSERT (18 columns × 50 = 900 parameters, under SQLite's limit of 32766). */
const BATCH = 50;

function multiRow(sql: string, n: number): string {
  const at = sql.indexOf('VALUES ') + 'VALUES '.length;
  const tuple = sql.slice(at);
  return sql.slice(0, at) + new Array(n).fill(tuple).join(',');
}

export interface BuildEntry {
  readonly grants?: readonly Grant[];
  readonly vehicle?: VehicleFacts;
}

/**
 * Writes rows into a data file being built (no journal, no fsync: until it is activated it is
 * scratch, and a crash just leaves a file that the next start removes). Rows arriving in key order
 * append to the B-tree, which is what makes 20 million rows load in minutes.
 */
export class DataFileBuilder {
  readonly #db: Db;
  readonly #insGrant;
  readonly #insVehicle;
  readonly #insEntry: Database.Statement<unknown[]>;
  readonly #insEntries: Database.Statement<unknown[]>;
  grants = 0;
  vehicles = 0;

  constructor(
    readonly file: string,
    readonly version: number,
    cacheKiB = 65_536,
  ) {
    this.#db = openDataFile(file, { bulk: true, cacheKiB });
    this.#insGrant = this.#db.prepare(SQL.insertGrant);
    this.#insVehicle = this.#db.prepare(SQL.insertVehicle);
    this.#insEntry = this.#db.prepare(SQL.insertEntry);
    this.#insEntries = this.#db.prepare(multiRow(SQL.insertEntry, BATCH));
  }

  /** Adds a batch of entries in one transaction. */
  add(entries: Iterable<BuildEntry>): void {
    this.#db.transaction(() => {
      for (const e of entries) {
        // The vehicle row's id '' sorts before every grant's: key order appends to the B-tree.
        if (e.vehicle) {
          this.#insVehicle.run(...vehicleToRecord(e.vehicle, this.version));
          this.vehicles++;
        }
        for (const g of e.grants ?? []) {
          this.#insGrant.run(...grantToRecord(g, this.version));
          this.grants++;
        }
      }
    })();
  }

  /**
   * Adds stored records (as decoded from a snapshot chunk) in one transaction, merged into key order
   * (a chunk holds a range of plates, in order, with grants and vehicle facts side by side), BATCH rows
   * per INSERT: one statement call per row costs more than SQLite's own work for it.
   */
  addRecords(grants: readonly GrantRecord[], vehicles: readonly VehicleRecord[]): void {
    const rows: EntryRecord[] = new Array<EntryRecord>(grants.length + vehicles.length);
    for (let i = 0; i < grants.length; i++) rows[i] = grantEntry(grants[i]!);
    for (let i = 0; i < vehicles.length; i++) rows[grants.length + i] = vehicleEntry(vehicles[i]!);
    // TimSort: two sorted runs merge in linear time.
    rows.sort(compareEntryKeys);
    this.#db.transaction(() => {
      let i = 0;
      const args: unknown[] = [];
      for (; i + BATCH <= rows.length; i += BATCH) {
        args.length = 0;
        for (let k = i; k < i + BATCH; k++) for (const v of rows[k]!) args.push(v);
        this.#insEntries.run(...args);
      }
      for (; i < rows.length; i++) this.#insEntry.run(...rows[i]!);
    })();
    this.grants += grants.length;
    this.vehicles += vehicles.length;
  }

  /** Writes the meta, switches the file to its normal journal mode and makes it durable. */
  finish(meta: Omit<DataMeta, 'grants' | 'vehicles'>): void {
    this.#db.transaction(() => writeMeta(this.#db, { ...meta, grants: this.grants, vehicles: this.vehicles }))();
    finishBulk(this.#db, this.file);
  }

  abandon(): void {
    if (this.#db.open) this.#db.close();
  }
}

/** Builds a whole data file from entries (batches of `batch`). */
export function buildDataFile(
  file: string,
  entries: Iterable<BuildEntry>,
  meta: Omit<DataMeta, 'grants' | 'vehicles'>,
  batch = 20_000,
): { grants: number; vehicles: number } {
  const b = new DataFileBuilder(file, meta.version);
  try {
    let buf: BuildEntry[] = [];
    for (const e of entries) {
      buf.push(e);
      if (buf.length >= batch) {
        b.add(buf);
        buf = [];
      }
    }
    b.add(buf);
    b.finish(meta);
    return { grants: b.grants, vehicles: b.vehicles };
  } catch (err) {
    b.abandon();
    throw err;
  }
}
