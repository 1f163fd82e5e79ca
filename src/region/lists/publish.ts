import { randomBytes, type KeyObject } from 'node:crypto';
import { grantToRecord, vehicleToRecord } from '../../cache/store.js';
import type { Grant, VehicleFacts } from '../../policy/types.js';
import { signBody } from '../../sync/lists-signing.js';
import {
  LISTS_WIRE_VERSION,
  encodeChunk,
  frame,
  sha256Hex,
  type ChunkRow,
  type GrantTuple,
  type ListDelta,
  type SnapshotManifest,
  type VehicleTuple,
} from '../../sync/lists-wire.js';

/**
 * The region side of the list downlink: builds signed snapshots and deltas (src/sync/lists-wire.ts)
 * from grants and vehicle facts. Rows go out in key order so a gateway appends them to its B-trees.
 */

export interface ListContent {
  readonly grants: readonly Grant[];
  readonly vehicles: readonly VehicleFacts[];
}

export interface ListMeta {
  readonly zone: string;
  readonly version: number;
  readonly publishedAt: number;
}

export const DEFAULT_CHUNK_ROWS = 20_000;

const grantTuple = (g: Grant): GrantTuple => grantToRecord(g, 0).slice(0, 10) as GrantTuple;
const vehicleTuple = (v: VehicleFacts): VehicleTuple => vehicleToRecord(v, 0).slice(0, 9) as VehicleTuple;

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Grants by (plate, country, id), vehicles by (plate, country), merged by plate: the gateway's key order. */
export function* orderedRows(list: ListContent): Generator<ChunkRow> {
  const grants = [...list.grants].sort((a, b) => cmp(a.plate, b.plate) || cmp(a.country, b.country) || cmp(a.id, b.id));
  const vehicles = [...list.vehicles].sort((a, b) => cmp(a.plate, b.plate) || cmp(a.country, b.country));
  let i = 0;
  let j = 0;
  while (i < grants.length || j < vehicles.length) {
    const g = grants[i];
    const v = vehicles[j];
    if (g && (!v || cmp(g.plate, v.plate) <= 0)) {
      yield ['g', ...grantTuple(g)];
      i++;
    } else {
      yield ['v', ...vehicleTuple(v!)];
      j++;
    }
  }
}

/** Rows of entries that are already in key order (the synthetic generator): nothing is sorted or held. */
export function* entryRows(
  entries: Iterable<{ readonly grants: readonly Grant[]; readonly vehicle?: VehicleFacts }>,
): Generator<ChunkRow> {
  for (const e of entries) {
    for (const g of [...e.grants].sort((a, b) => cmp(a.id, b.id))) yield ['g', ...grantTuple(g)];
    if (e.vehicle) yield ['v', ...vehicleTuple(e.vehicle)];
  }
}

/** Chunk bodies of `chunkRows` rows each, with their counts. */
export function* chunkBodies(
  rows: Iterable<ChunkRow>,
  chunkRows = DEFAULT_CHUNK_ROWS,
): Generator<{ body: Buffer; grants: number; vehicles: number }> {
  let buf: ChunkRow[] = [];
  let grants = 0;
  let vehicles = 0;
  for (const r of rows) {
    buf.push(r);
    if (r[0] === 'g') grants++;
    else vehicles++;
    if (buf.length >= chunkRows) {
      yield { body: encodeChunk(buf), grants, vehicles };
      buf = [];
      grants = 0;
      vehicles = 0;
    }
  }
  if (buf.length > 0) yield { body: encodeChunk(buf), grants, vehicles };
}

export interface SignedSnapshot {
  readonly manifest: SnapshotManifest;
  /** The framed MQTT payloads: the signed manifest first, then every chunk. */
  readonly messages: Buffer[];
}

export function newSnapshotId(): string {
  return randomBytes(8).toString('hex');
}

/** Frames a manifest: signed, for the snapshot topic. */
export function manifestMessage(manifest: SnapshotManifest, key: KeyObject): Buffer {
  const body = Buffer.from(JSON.stringify(manifest), 'utf8');
  return frame({ v: LISTS_WIRE_VERSION, type: 'snapshot', ...signBody('snapshot', body, key) }, body);
}

export function chunkMessage(snapshotId: string, index: number, body: Buffer): Buffer {
  return frame({ v: LISTS_WIRE_VERSION, type: 'chunk', snapshotId, index, sha256: sha256Hex(body) }, body);
}

/** A whole signed snapshot in memory (fine for lists up to a few million rows). */
export function buildSnapshot(
  rows: Iterable<ChunkRow>,
  meta: ListMeta,
  key: KeyObject,
  chunkRows = DEFAULT_CHUNK_ROWS,
): SignedSnapshot {
  const snapshotId = newSnapshotId();
  const bodies: Buffer[] = [];
  let grants = 0;
  let vehicles = 0;
  for (const c of chunkBodies(rows, chunkRows)) {
    bodies.push(c.body);
    grants += c.grants;
    vehicles += c.vehicles;
  }
  const manifest: SnapshotManifest = {
    zone: meta.zone,
    version: meta.version,
    publishedAt: meta.publishedAt,
    snapshotId,
    chunks: bodies.map(sha256Hex),
    grants,
    vehicles,
  };
  return {
    manifest,
    messages: [manifestMessage(manifest, key), ...bodies.map((b, i) => chunkMessage(snapshotId, i, b))],
  };
}

export type DeltaContent = Omit<ListDelta, 'zone' | 'version' | 'publishedAt' | 'fromVersion'>;

/** The changes that turn list `from` into list `to`. */
export function diffLists(from: ListContent, to: ListContent): DeltaContent {
  const gk = (g: Grant): string => `${g.country}:${g.plate}:${g.id}`;
  const vk = (v: VehicleFacts): string => `${v.country}:${v.plate}`;
  const oldG = new Map(from.grants.map((g) => [gk(g), JSON.stringify(grantTuple(g))]));
  const oldV = new Map(from.vehicles.map((v) => [vk(v), JSON.stringify(vehicleTuple(v))]));
  const newG = new Set(to.grants.map(gk));
  const newV = new Set(to.vehicles.map(vk));
  return {
    upsertGrants: to.grants.filter((g) => oldG.get(gk(g)) !== JSON.stringify(grantTuple(g))).map(grantTuple),
    deleteGrants: from.grants.filter((g) => !newG.has(gk(g))).map((g) => [g.plate, g.country, g.id]),
    upsertVehicles: to.vehicles.filter((v) => oldV.get(vk(v)) !== JSON.stringify(vehicleTuple(v))).map(vehicleTuple),
    deleteVehicles: from.vehicles.filter((v) => !newV.has(vk(v))).map((v) => [v.plate, v.country]),
  };
}

/** A signed delta, framed for the delta topic. */
export function buildDelta(
  content: DeltaContent,
  meta: ListMeta & { readonly fromVersion: number },
  key: KeyObject,
): Buffer {
  const delta: ListDelta = {
    zone: meta.zone,
    fromVersion: meta.fromVersion,
    version: meta.version,
    publishedAt: meta.publishedAt,
    ...content,
  };
  const body = Buffer.from(JSON.stringify(delta), 'utf8');
  return frame({ v: LISTS_WIRE_VERSION, type: 'delta', ...signBody('delta', body, key) }, body);
}
