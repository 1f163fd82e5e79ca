import { createHash } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import { z } from 'zod';
import { decodeScope, type GrantRecord, type VehicleRecord } from '../cache/store.js';
import { GRANT_KINDS } from '../policy/types.js';
import { parseWindows } from '../policy/windows.js';

/**
 * The list downlink on the wire. Every MQTT payload is one header line of JSON, a newline, then the
 * body bytes. Signed messages (snapshot manifests and deltas) carry an Ed25519 signature over
 * `zonegate-lists-v1:<type>\n` + body, so a signature made for one kind of message cannot be replayed
 * as another. A snapshot is a signed manifest listing the SHA-256 of every chunk, then the chunks
 * (gzip'd NDJSON rows, in key order) on the same topic; a chunk is authentic when its hash is the
 * manifest's. docs/lists.md describes the format; docs/mqtt/ holds the topics.
 */
export const LISTS_WIRE_VERSION = 1;

export function listTopics(
  prefix: string,
  zone: string,
  gatewayId?: string,
): { readonly snapshot: string; readonly delta: string; readonly resync: string } {
  const p = prefix.replace(/\/+$/, '');
  return {
    snapshot: `${p}/lists/${zone}/snapshot`,
    delta: `${p}/lists/${zone}/delta`,
    resync: `${p}/gw/${gatewayId ?? '+'}/lists/resync`,
  };
}

// --- framing -------------------------------------------------------------------------------------

const NL = 0x0a;
const MAX_HEADER = 4096;

export function frame(header: object, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`${JSON.stringify(header)}\n`, 'utf8'), body]);
}

export function unframe(payload: Buffer): { header: unknown; body: Buffer } | { error: string } {
  const nl = payload.indexOf(NL);
  if (nl < 0 || nl > MAX_HEADER) return { error: 'no header line (JSON, then a newline) in the first 4 KiB' };
  let header: unknown;
  try {
    header = JSON.parse(payload.subarray(0, nl).toString('utf8'));
  } catch {
    return { error: 'header line is not JSON' };
  }
  return { header, body: payload.subarray(nl + 1) };
}

const hex64 = z.string().regex(/^[0-9a-f]{64}$/, 'a SHA-256 in lower-case hex');
const keyId = z.string().regex(/^[0-9a-f]{16}$/, 'a key id (16 hex digits)');
const signature = z.string().regex(/^[A-Za-z0-9+/]{86}==$/, 'an Ed25519 signature in base64');
const zoneId = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'a zone id');
const version = z.number().int().min(1).max(Number.MAX_SAFE_INTEGER);
const instant = z.number().int().min(0).max(8.64e15);

export const headerSchema = z.discriminatedUnion('type', [
  z.strictObject({ v: z.literal(LISTS_WIRE_VERSION), type: z.literal('snapshot'), keyId, sig: signature }),
  z.strictObject({
    v: z.literal(LISTS_WIRE_VERSION),
    type: z.literal('chunk'),
    snapshotId: z.string().regex(/^[0-9a-f]{16,64}$/),
    index: z.number().int().min(0).max(1_000_000),
    sha256: hex64,
  }),
  z.strictObject({ v: z.literal(LISTS_WIRE_VERSION), type: z.literal('delta'), keyId, sig: signature }),
]);
export type ListHeader = z.infer<typeof headerSchema>;

export const manifestSchema = z.strictObject({
  zone: zoneId,
  version,
  publishedAt: instant,
  snapshotId: z.string().regex(/^[0-9a-f]{16,64}$/),
  chunks: z.array(hex64).max(1_000_000),
  grants: z.number().int().min(0),
  vehicles: z.number().int().min(0),
});
export type SnapshotManifest = z.infer<typeof manifestSchema>;

/** gateway → region on `{prefix}/gw/{gateway}/lists/resync`: please send a full snapshot. */
export const resyncSchema = z.strictObject({
  v: z.literal(LISTS_WIRE_VERSION),
  gateway: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/),
  zone: zoneId,
  /** The version the gateway decides with now (its source may be a local import). */
  haveVersion: z.number().int().min(0),
  /** The highest version it ever accepted from the region. */
  regionVersion: z.number().int().min(0),
  /** version-gap, chunk-hash, snapshot-timeout, … */
  reason: z.string().min(1).max(64),
  at: instant,
});
export type ResyncRequest = z.infer<typeof resyncSchema>;

// --- rows ----------------------------------------------------------------------------------------

const plate = z.string().regex(/^[A-Z0-9]{1,12}$/, 'a canonical plate (A–Z0–9)');
const country = z.string().regex(/^[A-Z]{2}$/, 'an ISO country code');
const nullableText = (max: number) => z.string().min(1).max(max).nullable();

/** A grant as stored: [plate, country, id, scope, kind, validFrom, validUntil, windows, categories, sourceRef]. */
export const grantTupleSchema = z.tuple([
  plate,
  country,
  z.string().regex(/^[\w.:/-]{1,64}$/),
  z.string().refine((s) => decodeScope(s) !== undefined, 'a scope (national, municipality:NNNN, zone:ID)'),
  z.enum(GRANT_KINDS),
  instant,
  instant.nullable(),
  nullableText(500).refine((s) => s === null || typeof parseWindows(s) !== 'string', 'windows'),
  nullableText(100),
  nullableText(200),
]);
export type GrantTuple = z.infer<typeof grantTupleSchema>;

/** Vehicle facts as stored: [plate, country, category, fuels, emissionClass, firstAdmission, maxMass, bodyCodes, bodyType]. */
export const vehicleTupleSchema = z.tuple([
  plate,
  country,
  nullableText(8),
  nullableText(200),
  z.number().int().min(0).max(9).nullable(),
  z.number().int().min(-8.64e15).max(8.64e15).nullable(),
  z.number().int().min(1).max(1_000_000).nullable(),
  nullableText(200),
  nullableText(100),
]);
export type VehicleTuple = z.infer<typeof vehicleTupleSchema>;

export const deltaSchema = z
  .strictObject({
    zone: zoneId,
    fromVersion: z.number().int().min(0),
    version,
    publishedAt: instant,
    upsertGrants: z.array(grantTupleSchema).default([]),
    deleteGrants: z.array(z.tuple([plate, country, z.string().min(1).max(64)])).default([]),
    upsertVehicles: z.array(vehicleTupleSchema).default([]),
    deleteVehicles: z.array(z.tuple([plate, country])).default([]),
  })
  .refine((d) => d.version > d.fromVersion, { message: 'version must be higher than fromVersion', path: ['version'] });
export type ListDelta = z.infer<typeof deltaSchema>;

// --- chunk bodies --------------------------------------------------------------------------------

/** One line of a chunk: ['g', …grant tuple] or ['v', …vehicle tuple]. */
export type ChunkRow = ['g', ...GrantTuple] | ['v', ...VehicleTuple];

export function encodeChunk(rows: readonly ChunkRow[]): Buffer {
  let text = '';
  for (const r of rows) text += `${JSON.stringify(r)}\n`;
  return gzipSync(Buffer.from(text, 'utf8'), { level: 6 });
}

export function sha256Hex(data: Buffer | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

export interface DecodedChunk {
  readonly grants: GrantRecord[];
  readonly vehicles: VehicleRecord[];
}

const PLATE = /^[A-Z0-9]{1,12}$/;
const COUNTRY = /^[A-Z]{2}$/;
const GRANT_ID = /^[\w.:/-]{1,64}$/;
const KINDS = new Set<string>(GRANT_KINDS);
const MAX_INSTANT = 8.64e15;
const validWindows = new Set<string>();

const isInt = (v: unknown, min: number, max: number): boolean =>
  typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;
const isText = (v: unknown, max: number): boolean => typeof v === 'string' && v.length >= 1 && v.length <= max;
const isNullOr = (v: unknown, ok: (v: unknown) => boolean): boolean => v === null || ok(v);

function windowsOk(v: unknown): boolean {
  if (v === null) return true;
  if (!isText(v, 500)) return false;
  const s = v as string;
  if (validWindows.has(s)) return true;
  if (typeof parseWindows(s) === 'string') return false;
  if (validWindows.size < 10_000) validWindows.add(s);
  return true;
}

/**
 * The same checks as grantTupleSchema, written out: a national snapshot has 40 million rows and zod
 * costs microseconds per row. tests/unit/lists-wire.test.ts holds the two equal on random rows.
 */
export function isGrantTuple(v: unknown): v is GrantTuple {
  return (
    Array.isArray(v) &&
    v.length === 10 &&
    typeof v[0] === 'string' &&
    PLATE.test(v[0]) &&
    typeof v[1] === 'string' &&
    COUNTRY.test(v[1]) &&
    typeof v[2] === 'string' &&
    GRANT_ID.test(v[2]) &&
    typeof v[3] === 'string' &&
    decodeScope(v[3]) !== undefined &&
    typeof v[4] === 'string' &&
    KINDS.has(v[4]) &&
    isInt(v[5], 0, MAX_INSTANT) &&
    isNullOr(v[6], (x) => isInt(x, 0, MAX_INSTANT)) &&
    windowsOk(v[7]) &&
    isNullOr(v[8], (x) => isText(x, 100)) &&
    isNullOr(v[9], (x) => isText(x, 200))
  );
}

/** The same checks as vehicleTupleSchema, written out (see isGrantTuple). */
export function isVehicleTuple(v: unknown): v is VehicleTuple {
  return (
    Array.isArray(v) &&
    v.length === 9 &&
    typeof v[0] === 'string' &&
    PLATE.test(v[0]) &&
    typeof v[1] === 'string' &&
    COUNTRY.test(v[1]) &&
    isNullOr(v[2], (x) => isText(x, 8)) &&
    isNullOr(v[3], (x) => isText(x, 200)) &&
    isNullOr(v[4], (x) => isInt(x, 0, 9)) &&
    isNullOr(v[5], (x) => isInt(x, -MAX_INSTANT, MAX_INSTANT)) &&
    isNullOr(v[6], (x) => isInt(x, 1, 1_000_000)) &&
    isNullOr(v[7], (x) => isText(x, 200)) &&
    isNullOr(v[8], (x) => isText(x, 100))
  );
}

/**
 * Unzips and checks every row of a chunk; `listVersion` is appended to make the stored records.
 * Returns what is wrong (with the row number, and zod's description of it) instead of throwing.
 */
export function decodeChunk(body: Uint8Array, listVersion: number): DecodedChunk | { error: string } {
  let text: string;
  try {
    text = gunzipSync(body).toString('utf8');
  } catch {
    return { error: 'chunk body is not gzip' };
  }
  let rows: unknown;
  try {
    // One parse for the whole chunk: rows are one JSON array per line.
    rows = JSON.parse(`[${text.trimEnd().split('\n').join(',')}]`);
  } catch {
    return { error: 'rows are not one JSON array per line' };
  }
  const grants: GrantRecord[] = [];
  const vehicles: VehicleRecord[] = [];
  const list = rows as unknown[];
  for (let i = 0; i < list.length; i++) {
    const r = list[i];
    if (!Array.isArray(r)) return { error: `row ${i + 1}: not an array` };
    const tag: unknown = r[0];
    const rest = r.slice(1);
    if (tag === 'g') {
      if (!isGrantTuple(rest)) return { error: `row ${i + 1}: grant ${describe(grantTupleSchema, rest)}` };
      rest.push(listVersion);
      grants.push(rest as unknown as GrantRecord);
    } else if (tag === 'v') {
      if (!isVehicleTuple(rest)) return { error: `row ${i + 1}: vehicle ${describe(vehicleTupleSchema, rest)}` };
      rest.push(listVersion);
      vehicles.push(rest as unknown as VehicleRecord);
    } else return { error: `row ${i + 1}: first field must be "g" or "v"` };
  }
  return { grants, vehicles };
}

function describe(schema: z.ZodType, value: unknown): string {
  const r = schema.safeParse(value);
  if (r.success) return 'is not valid';
  const i = r.error.issues[0]!;
  return `${i.path.join('.') || '(row)'}: ${i.message}`;
}
