import type Database from 'better-sqlite3';
import type { Grant, VehicleFacts } from '../policy/types.js';
import {
  SQL,
  finishBulk,
  grantToRecord,
  openDataFile,
  vehicleToRecord,
  writeMeta,
  type DataMeta,
  type Db,
  type GrantRecord,
  type VehicleRecord,
} from './store.js';

/** Rows per multi-row INSERT (11 columns × 50 = 550 parameters, under SQLite's limit of 32766). */
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
  readonly #insGrants: Database.Statement<unknown[]>;
  readonly #insVehicles: Database.Statement<unknown[]>;
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
    this.#insGrants = this.#db.prepare(multiRow(SQL.insertGrant, BATCH));
    this.#insVehicles = this.#db.prepare(multiRow(SQL.insertVehicle, BATCH));
  }

  /** Adds a batch of entries in one transaction. */
  add(entries: Iterable<BuildEntry>): void {
    this.#db.transaction(() => {
      for (const e of entries) {
        for (const g of e.grants ?? []) {
          this.#insGrant.run(...grantToRecord(g, this.version));
          this.grants++;
        }
        if (e.vehicle) {
          this.#insVehicle.run(...vehicleToRecord(e.vehicle, this.version));
          this.vehicles++;
        }
      }
    })();
  }

  /**
   * Adds stored records (as decoded from a snapshot chunk) in one transaction, BATCH rows per INSERT:
   * one statement call per row costs more than SQLite's own work for it.
   */
  addRecords(grants: readonly GrantRecord[], vehicles: readonly VehicleRecord[]): void {
    this.#db.transaction(() => {
      this.#insertMany(grants, this.#insGrant, this.#insGrants);
      this.#insertMany(vehicles, this.#insVehicle, this.#insVehicles);
    })();
    this.grants += grants.length;
    this.vehicles += vehicles.length;
  }

  #insertMany(
    rows: readonly (readonly unknown[])[],
    one: Database.Statement<unknown[]>,
    many: Database.Statement<unknown[]>,
  ): void {
    let i = 0;
    const args: unknown[] = [];
    for (; i + BATCH <= rows.length; i += BATCH) {
      args.length = 0;
      for (let k = i; k < i + BATCH; k++) for (const v of rows[k]!) args.push(v);
      many.run(...args);
    }
    for (; i < rows.length; i++) one.run(...rows[i]!);
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
