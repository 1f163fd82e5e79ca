import { DataFileBuilder } from '../cache/build.js';
import { applyChange, type InPlaceChange } from '../cache/list-cache.js';
import {
  openDataFile,
  recordToGrant,
  recordToVehicle,
  removeDataFile,
  type GrantRecord,
  type VehicleRecord,
} from '../cache/store.js';
import { decodeChunk, sha256Hex, type ListDelta, type SnapshotManifest } from './lists-wire.js';

/**
 * Applying list updates to data files: the part that runs in the sync worker thread (and, in the
 * crash tests, in a child process that is killed at random moments). Nothing here touches the
 * catalog: a built snapshot becomes active only when the main thread activates it.
 */

export type ApplyFailure = { readonly reason: string; readonly detail: string };

/** A snapshot being built into a fresh data file, chunk by chunk, each chunk one transaction. */
export class SnapshotBuild {
  readonly #builder: DataFileBuilder;
  #next = 0;

  constructor(
    readonly file: string,
    readonly manifest: SnapshotManifest,
    readonly manifestHash: string,
  ) {
    this.#builder = new DataFileBuilder(file, manifest.version);
  }

  get nextIndex(): number {
    return this.#next;
  }

  get complete(): boolean {
    return this.#next === this.manifest.chunks.length;
  }

  /** Checks a chunk against the manifest's hash and writes its rows; a repeat of the last chunk is ignored. */
  addChunk(index: number, body: Uint8Array): { rows: number } | ApplyFailure {
    if (index < this.#next) {
      // QoS 1 may deliver a chunk twice: a repeat with the right hash is harmless.
      return sha256Hex(body) === this.manifest.chunks[index]
        ? { rows: 0 }
        : { reason: 'chunk-hash', detail: `chunk ${index} does not match the manifest` };
    }
    if (index !== this.#next)
      return { reason: 'chunk-order', detail: `chunk ${index} arrived, expected chunk ${this.#next}` };
    if (index >= this.manifest.chunks.length)
      return { reason: 'chunk-order', detail: `chunk ${index} beyond the manifest's ${this.manifest.chunks.length}` };
    if (sha256Hex(body) !== this.manifest.chunks[index])
      return { reason: 'chunk-hash', detail: `chunk ${index}: SHA-256 does not match the signed manifest` };
    const rows = decodeChunk(body, this.manifest.version);
    if ('error' in rows) return { reason: 'bad-chunk', detail: `chunk ${index}: ${rows.error}` };
    this.#builder.addRecords(rows.grants, rows.vehicles);
    this.#next++;
    return { rows: rows.grants.length + rows.vehicles.length };
  }

  /** Checks the counts, writes the meta and makes the file durable. */
  finish(): { grants: number; vehicles: number } | ApplyFailure {
    const m = this.manifest;
    if (!this.complete) return { reason: 'incomplete', detail: `${this.#next} of ${m.chunks.length} chunks` };
    if (this.#builder.grants !== m.grants || this.#builder.vehicles !== m.vehicles)
      return {
        reason: 'bad-count',
        detail: `${this.#builder.grants} grants and ${this.#builder.vehicles} vehicles, the manifest says ${m.grants} and ${m.vehicles}`,
      };
    this.#builder.finish({
      version: m.version,
      publishedAt: m.publishedAt,
      zone: m.zone,
      source: 'region',
      snapshotHash: this.manifestHash,
    });
    return { grants: this.#builder.grants, vehicles: this.#builder.vehicles };
  }

  abandon(): void {
    this.#builder.abandon();
    removeDataFile(this.file);
  }
}

/** A signed delta as a change of the active data file: applied only onto the version it starts from. */
export function deltaChange(delta: ListDelta): InPlaceChange {
  const v = delta.version;
  return {
    version: v,
    publishedAt: delta.publishedAt,
    zone: delta.zone,
    source: 'region',
    expect: { version: delta.fromVersion, source: 'region' },
    upsertGrants: delta.upsertGrants.map((t) => recordToGrant([...t, v] as GrantRecord)),
    deleteGrants: delta.deleteGrants.map(([plate, country, id]) => ({ plate, country, id })),
    upsertVehicles: delta.upsertVehicles.map((t) => recordToVehicle([...t, v] as VehicleRecord)),
    deleteVehicles: delta.deleteVehicles.map(([plate, country]) => ({ plate, country })),
  };
}

/** Applies a delta to a data file in one transaction (its own connection; WAL lets lookups go on). */
export function applyDeltaToFile(file: string, delta: ListDelta): void {
  const db = openDataFile(file);
  try {
    applyChange(db, deltaChange(delta));
  } finally {
    db.close();
  }
}
