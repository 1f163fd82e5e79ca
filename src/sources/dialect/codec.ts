import { DateTime } from 'luxon';
import { z } from 'zod';
import { canonicalText } from '../../plate/key.js';
import { checksumBytes, checksumHex, checksumOf, readChecksumBytes, type Checksum } from './checksum.js';
import type { DialectProfile, Mapping } from './profile.js';

/**
 * The pure part of a dialect: one frame's payload (framing already removed) to the fields of a
 * plate read, and back. Everything here is synchronous and allocation-light because it sits on
 * the path from a line arriving to the bollard's GPIO write.
 */

/** Stable reason codes of refused input; they label metrics and journal faults. */
export const REJECTION_REASONS = [
  'garbage',
  'line-too-long',
  'truncated-frame',
  'bad-framing',
  'missing-checksum',
  'bad-checksum',
  'bad-layout',
  'unexpected-message',
  'missing-field',
  'bad-field',
  'bad-capture-record',
] as const;
export type RejectionReason = (typeof REJECTION_REASONS)[number];

/** What a frame says about one read, before the source adds its id, lane and arrival stamps. */
export interface ReadFields {
  /** Canonical text A–Z0–9. */
  readonly text: string;
  readonly country: string;
  readonly confidence: number;
  readonly charConfidences?: readonly number[];
  readonly cameraTime?: number;
  /** The camera's own lane label, before the source's laneMap. */
  readonly cameraLane?: string;
  readonly direction?: 'in' | 'out';
  readonly imageRef?: string;
}

export type DecodedFrame = { readonly kind: 'read'; readonly fields: ReadFields } | { readonly kind: 'heartbeat' };

export type FrameResult =
  | { readonly ok: true; readonly frame: DecodedFrame }
  | { readonly ok: false; readonly reason: RejectionReason; readonly detail: string };

/** What the encoder needs to write a read (simulated camera, fixtures, fuzz input). */
export interface EncodableRead {
  readonly text: string;
  readonly country?: string;
  readonly confidence?: number;
  readonly charConfidences?: readonly number[];
  readonly cameraTime?: number;
  readonly cameraLane?: string;
  readonly direction?: 'in' | 'out';
  readonly imageRef?: string;
}

interface FieldValues {
  get(name: string): unknown;
  /** A layout problem found while splitting, reported unless the frame is a heartbeat. */
  readonly problem?: string;
}

const MAPPED = [
  'plate',
  'country',
  'confidence',
  'charConfidences',
  'timestamp',
  'lane',
  'direction',
  'imageRef',
] as const satisfies readonly (keyof Mapping)[];

const PLATE_RAW = /^[A-Za-z0-9][A-Za-z0-9 .-]{0,19}$/;
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:?\d{2})$/;
const PRINTABLE = /^[\x20-\x7e\u00a0-\uffff]*$/;
/** A camera timestamp outside these years is a broken clock or a misparsed field. */
const EARLIEST_CAMERA_TIME = Date.UTC(2000, 0, 1);
const LATEST_CAMERA_TIME = Date.UTC(2100, 0, 1);

const blankToUndefined = (v: unknown): unknown => (v === '' || v === null ? undefined : v);

function numberIn(scale: number) {
  return z.preprocess(
    (v) => (typeof v === 'string' && /^\s*-?\d+(\.\d+)?\s*$/.test(v) ? Number(v) : v),
    z
      .number({ error: `expected a number 0–${scale}` })
      .min(0, `expected a number 0–${scale}`)
      .max(scale, `expected a number 0–${scale}`),
  );
}

function normalise(value: number, scale: number): number {
  return Math.min(1000, Math.max(0, Math.round((value * 1000) / scale)));
}

/** Builds the zod schema that validates and converts one frame's mapped fields. */
function readSchema(m: Mapping) {
  const country = m.country;
  const confidence = m.confidence;
  const chars = m.charConfidences;
  const ts = m.timestamp;
  const dir = m.direction;
  // Camera values are looked up as Map keys: in a plain object "constructor" or "__proto__" would
  // find what every object inherits and pass for a country or a direction.
  const countries = new Map(Object.entries(country?.map ?? {}));
  const directions = new Map(Object.entries(dir?.values ?? {}));
  const fast = ts?.format === 'pattern' ? fastPattern(ts.pattern ?? '') : undefined;
  return z.object({
    plate: z
      .string({ error: 'expected text' })
      .regex(PLATE_RAW, 'expected a plate of letters and digits (dashes, dots and spaces allowed), at most 20')
      .transform((s, ctx) => {
        const text = canonicalText(s);
        if (text.length > 12) ctx.addIssue({ code: 'custom', message: 'more than 12 letters and digits' });
        return text;
      }),
    country: z.preprocess(
      blankToUndefined,
      z.union([z.string(), z.undefined()]).transform((s, ctx) => {
        if (s === undefined) return country?.default ?? 'NL';
        const mapped = countries.get(s) ?? countries.get(s.toUpperCase()) ?? s.toUpperCase();
        if (!/^[A-Z]{2}$/.test(mapped)) {
          ctx.addIssue({ code: 'custom', message: 'expected an ISO 3166 alpha-2 country (or one in the map)' });
          return z.NEVER;
        }
        return mapped;
      }),
    ),
    confidence: confidence
      ? z.preprocess(
          blankToUndefined,
          numberIn(confidence.scale).transform((v) => normalise(v, confidence.scale)),
        )
      : z.undefined().transform(() => 1000),
    charConfidences: chars
      ? z.preprocess(
          (v) => {
            const b = blankToUndefined(v);
            return typeof b === 'string' && chars.separator !== undefined ? b.split(chars.separator) : b;
          },
          z
            .array(numberIn(chars.scale), { error: 'expected a list of numbers' })
            .max(20)
            .optional()
            .transform((a) => a?.map((v) => normalise(v, chars.scale))),
        )
      : z.undefined(),
    cameraTime: ts
      ? z.preprocess(
          blankToUndefined,
          z
            .union([z.string(), z.number()])
            .optional()
            .transform((v, ctx) => {
              if (v === undefined) return undefined;
              const ms = parseTime(v, ts, fast);
              if (ms === undefined || ms < EARLIEST_CAMERA_TIME || ms > LATEST_CAMERA_TIME) {
                ctx.addIssue({
                  code: 'custom',
                  message: `expected a ${ts.format === 'pattern' ? `time like ${ts.pattern}` : ts.format} time between 2000 and 2100`,
                });
                return z.NEVER;
              }
              return ms;
            }),
        )
      : z.undefined(),
    cameraLane: z.preprocess(
      (v) => (typeof v === 'number' ? String(v) : blankToUndefined(v)),
      z.string().max(32).regex(PRINTABLE, 'expected printable text').optional(),
    ),
    direction: dir
      ? z.preprocess(
          blankToUndefined,
          z
            .string()
            .optional()
            .transform((s, ctx) => {
              if (s === undefined) return undefined;
              const d = directions.get(s) ?? directions.get(s.toLowerCase());
              if (!d) {
                ctx.addIssue({ code: 'custom', message: `expected one of ${[...directions.keys()].join(', ')}` });
                return z.NEVER;
              }
              return d;
            }),
        )
      : z.undefined(),
    imageRef: z.preprocess(
      blankToUndefined,
      z.string().max(256).regex(PRINTABLE, 'expected printable text').optional(),
    ),
  });
}

type FastPattern = ((v: string) => TimeParts | undefined) | undefined;

function parseTime(v: string | number, ts: NonNullable<Mapping['timestamp']>, fast: FastPattern): number | undefined {
  switch (ts.format) {
    case 'epoch-ms':
    case 'epoch-s': {
      const n = typeof v === 'number' ? v : /^\d+(\.\d+)?$/.test(v) ? Number(v) : NaN;
      if (!Number.isFinite(n)) return undefined;
      return Math.round(ts.format === 'epoch-s' ? n * 1000 : n);
    }
    case 'iso8601': {
      if (typeof v !== 'string' || !ISO_TIME.test(v)) return undefined;
      const ms = Date.parse(v);
      return Number.isFinite(ms) ? ms : undefined;
    }
    case 'pattern': {
      if (typeof v !== 'string') return undefined;
      if (fast) {
        const parts = fast(v);
        if (!parts) return undefined;
        if (ts.zone === 'UTC') {
          const ms = Date.UTC(
            parts.year,
            parts.month - 1,
            parts.day,
            parts.hour,
            parts.minute,
            parts.second,
            parts.millisecond,
          );
          // Date.UTC rolls over (month 13 becomes January); a real time survives the round trip.
          return new Date(ms).getUTCDate() === parts.day && parts.hour < 24 && parts.minute < 60 && parts.second < 60
            ? ms
            : undefined;
        }
        const dt = DateTime.fromObject(parts, { zone: ts.zone });
        return dt.isValid ? dt.toMillis() : undefined;
      }
      const dt = DateTime.fromFormat(v, ts.pattern ?? '', { zone: ts.zone });
      return dt.isValid ? dt.toMillis() : undefined;
    }
  }
}

interface TimeParts {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  millisecond: number;
}

const FAST_TOKENS: Record<string, [keyof TimeParts, number]> = {
  yyyy: ['year', 4],
  MM: ['month', 2],
  dd: ['day', 2],
  HH: ['hour', 2],
  mm: ['minute', 2],
  ss: ['second', 2],
  SSS: ['millisecond', 3],
};

/**
 * Camera clocks mostly use fixed-width numeric patterns (yyyyMMddHHmmssSSS, dd.MM.yyyy HH:mm:ss).
 * Those are read with one regular expression instead of Luxon's general parser, which is several
 * times slower and sits on the path to the bollard. Other patterns fall back to Luxon.
 */
function fastPattern(pattern: string): ((v: string) => TimeParts | undefined) | undefined {
  const units: (keyof TimeParts)[] = [];
  let source = '^';
  let rest = pattern;
  let ok = true;
  while (rest.length > 0 && ok) {
    const token = Object.keys(FAST_TOKENS).find((t) => rest.startsWith(t));
    if (token) {
      const [unit, width] = FAST_TOKENS[token]!;
      if (units.includes(unit)) ok = false;
      units.push(unit);
      source += `(\\d{${width}})`;
      rest = rest.slice(token.length);
    } else if (/^[^A-Za-z']/.test(rest)) {
      source += rest[0]!.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      rest = rest.slice(1);
    } else ok = false;
  }
  const needed: (keyof TimeParts)[] = ['year', 'month', 'day', 'hour', 'minute'];
  if (!ok || !needed.every((u) => units.includes(u))) return undefined;
  const re = new RegExp(`${source}$`);
  return (v: string): TimeParts | undefined => {
    const m = re.exec(v);
    if (!m) return undefined;
    const parts: TimeParts = { year: 0, month: 0, day: 0, hour: 0, minute: 0, second: 0, millisecond: 0 };
    units.forEach((u, i) => (parts[u] = Number(m[i + 1])));
    return parts;
  };
}

function formatTime(ms: number, ts: NonNullable<Mapping['timestamp']>): string | number {
  switch (ts.format) {
    case 'epoch-ms':
      return ms;
    case 'epoch-s':
      return (ms / 1000).toFixed(3);
    case 'iso8601':
      return new Date(ms).toISOString();
    case 'pattern':
      return DateTime.fromMillis(ms, { zone: ts.zone }).toFormat(ts.pattern ?? '');
  }
}

/** Digits after the point for a value on this scale so that the 0–1000 value survives the trip. */
function decimalsFor(scale: number): number {
  return Math.max(0, Math.min(3, Math.ceil(3 - Math.log10(scale))));
}

function formatConfidence(v: number, scale: number): number {
  return Number(((v * scale) / 1000).toFixed(decimalsFor(scale)));
}

function printable(bytes: Uint8Array | string, max = 80): string {
  const s = typeof bytes === 'string' ? bytes : Buffer.from(bytes).toString('latin1');
  let out = '';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    out += c >= 0x20 && c < 0x7f ? ch : `\\x${c.toString(16).padStart(2, '0')}`;
    if (out.length >= max) return `${out.slice(0, max - 1)}…`;
  }
  return out;
}

export { printable as printableSample };

/** A profile compiled for decoding and encoding. */
export class DialectCodec {
  readonly checksum: Checksum;
  /** The framing start marker as bytes (newline / crlf framings), if the profile has one. */
  readonly startMarker: Buffer | undefined;
  readonly #separator: Buffer;
  readonly #schema: ReturnType<typeof readSchema>;
  readonly #jsonPaths = new Map<string, (string | number)[]>();
  readonly #matches: [string, string][];

  constructor(readonly profile: DialectProfile) {
    this.checksum = checksumOf(profile.checksum.algorithm);
    const f = profile.framing;
    this.startMarker =
      (f.type === 'newline' || f.type === 'crlf') && f.start ? Buffer.from(f.start, 'latin1') : undefined;
    this.#separator = Buffer.from(profile.checksum.separator, 'latin1');
    this.#schema = readSchema(profile.mapping);
    this.#matches = Object.entries(profile.match);
    if (profile.layout.type === 'json') {
      const names = [
        ...MAPPED.map((k) => profile.mapping[k]?.field),
        ...Object.keys(profile.match),
        profile.heartbeat?.field,
      ];
      for (const name of names)
        if (name !== undefined)
          this.#jsonPaths.set(
            name,
            name.split('.').map((s) => (/^\d+$/.test(s) ? Number(s) : s)),
          );
    }
  }

  get name(): string {
    return this.profile.name;
  }

  /** Bytes of checksum after the frame's end marker (stx-etx) or payload (length-prefixed). */
  get trailerBytes(): number {
    return this.profile.checksum.placement === 'trailer' ? this.checksum.width : 0;
  }

  /** Decodes one payload. `trailer` holds the trailer checksum bytes when the profile has them. */
  decode(payload: Buffer, trailer?: Buffer): FrameResult {
    const ck = this.profile.checksum;
    let body = payload;
    if (this.checksum.width > 0) {
      if (ck.placement === 'suffix') {
        const digits = this.checksum.width * 2;
        const sepAt = payload.length - digits - this.#separator.length;
        const startLen = this.startMarker?.length ?? 0;
        if (sepAt < startLen || !payload.subarray(sepAt, sepAt + this.#separator.length).equals(this.#separator)) {
          return fail('missing-checksum', `no ${ck.separator}${'H'.repeat(digits)} ${this.checksum.title} at the end`);
        }
        const hex = payload.toString('latin1', sepAt + this.#separator.length);
        if (!/^[0-9A-Fa-f]+$/.test(hex)) return fail('missing-checksum', `checksum "${printable(hex)}" is not hex`);
        const covered = payload.subarray(ck.coversStart ? 0 : startLen, sepAt);
        const computed = this.checksum.compute(covered);
        const given = parseInt(hex, 16);
        if (computed !== given)
          return fail(
            'bad-checksum',
            `frame says ${hex.toUpperCase()}, computed ${checksumHex(computed, this.checksum.width)} (${this.checksum.title} over ${covered.length} bytes)`,
          );
        body = payload.subarray(0, sepAt);
      } else {
        if (!trailer || trailer.length !== this.checksum.width)
          return fail('missing-checksum', `no ${this.checksum.width}-byte ${this.checksum.title} after the frame`);
        const f = this.profile.framing;
        const computed =
          ck.coversEnd && f.type === 'stx-etx'
            ? this.checksum.compute(payload, Uint8Array.of(f.etx))
            : this.checksum.compute(payload);
        const given = readChecksumBytes(trailer, ck.byteOrder);
        if (computed !== given)
          return fail(
            'bad-checksum',
            `frame says ${checksumHex(given, this.checksum.width)}, computed ${checksumHex(computed, this.checksum.width)} (${this.checksum.title} over ${payload.length + (ck.coversEnd ? 1 : 0)} bytes)`,
          );
      }
    }
    const values = this.#parseLayout(body.toString('utf8'));
    if ('reason' in values) return values;
    const hb = this.profile.heartbeat;
    if (hb && values.get(hb.field) === hb.equals) return { ok: true, frame: { kind: 'heartbeat' } };
    if (values.problem) return fail('bad-layout', values.problem);
    for (const [field, expected] of this.#matches) {
      const got = values.get(field);
      if (got !== expected)
        return fail(
          'unexpected-message',
          `field "${field}" is ${got === undefined ? 'missing' : `"${printable(String(got), 24)}"`}, ${this.profile.name} expects "${expected}"`,
        );
    }
    const m = this.profile.mapping;
    const raw = {
      plate: values.get(m.plate.field),
      country: m.country ? values.get(m.country.field) : undefined,
      confidence: m.confidence ? values.get(m.confidence.field) : undefined,
      charConfidences: m.charConfidences ? values.get(m.charConfidences.field) : undefined,
      cameraTime: m.timestamp ? values.get(m.timestamp.field) : undefined,
      cameraLane: m.lane ? values.get(m.lane.field) : undefined,
      direction: m.direction ? values.get(m.direction.field) : undefined,
      imageRef: m.imageRef ? values.get(m.imageRef.field) : undefined,
    };
    if (raw.plate === undefined || raw.plate === '')
      return fail('missing-field', `no plate in field "${m.plate.field}"`);
    const parsed = this.#schema.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      const attr = String(issue.path[0] ?? 'plate') as keyof typeof raw;
      const mappingKey = attr === 'cameraTime' ? 'timestamp' : attr === 'cameraLane' ? 'lane' : attr;
      const field = m[mappingKey as keyof Mapping]?.field ?? attr;
      const got = raw[attr];
      return fail(
        'bad-field',
        `field "${field}" (${mappingKey}): ${issue.message}, got ${got === undefined ? 'nothing' : JSON.stringify(typeof got === 'string' ? printable(got, 40) : got)}`,
      );
    }
    const d = parsed.data;
    const fields: ReadFields = {
      text: d.plate,
      country: d.country,
      confidence: d.confidence,
      ...(d.charConfidences ? { charConfidences: d.charConfidences } : {}),
      ...(d.cameraTime !== undefined ? { cameraTime: d.cameraTime } : {}),
      ...(d.cameraLane !== undefined ? { cameraLane: d.cameraLane } : {}),
      ...(d.direction ? { direction: d.direction } : {}),
      ...(d.imageRef !== undefined ? { imageRef: d.imageRef } : {}),
    };
    return { ok: true, frame: { kind: 'read', fields } };
  }

  #parseLayout(text: string): FieldValues | { ok: false; reason: RejectionReason; detail: string } {
    const layout = this.profile.layout;
    switch (layout.type) {
      case 'delimited': {
        const parts = text.split(layout.separator);
        const n = layout.fields.length;
        const names = layout.fields;
        return {
          get: (name) => {
            const i = names.indexOf(name);
            return i < 0 ? undefined : parts[i];
          },
          ...(parts.length < n || (parts.length > n && layout.extraFields === 'reject')
            ? { problem: `expected ${n} fields separated by "${layout.separator}", got ${parts.length}` }
            : {}),
        };
      }
      case 'key-value': {
        const map = new Map<string, string>();
        for (const pair of text.split(layout.pairSeparator)) {
          if (pair === '') continue;
          const at = pair.indexOf(layout.keyValueSeparator);
          if (at <= 0) return fail('bad-layout', `"${printable(pair, 24)}" is not key${layout.keyValueSeparator}value`);
          const key = pair.slice(0, at).trim();
          if (map.has(key)) return fail('bad-layout', `key "${printable(key, 24)}" appears twice`);
          map.set(key, pair.slice(at + layout.keyValueSeparator.length));
        }
        return map;
      }
      case 'json': {
        let doc: unknown;
        try {
          doc = JSON.parse(text);
        } catch (err) {
          return fail('bad-layout', `not JSON: ${(err as Error).message.split('\n')[0]}`);
        }
        if (typeof doc !== 'object' || doc === null || Array.isArray(doc))
          return fail('bad-layout', 'expected one JSON object per frame');
        return {
          get: (name) => {
            let cur: unknown = doc;
            for (const seg of this.#jsonPaths.get(name) ?? [name]) {
              if (cur === null || typeof cur !== 'object') return undefined;
              cur = (cur as Record<string | number, unknown>)[seg];
            }
            return cur;
          },
        };
      }
    }
  }

  /** The complete frame (framing, checksum and all) a camera speaking this dialect would send. */
  encode(read: EncodableRead): Buffer {
    const m = this.profile.mapping;
    const values = new Map<string, unknown>(Object.entries(this.profile.match));
    const set = (field: string | undefined, v: unknown): void => {
      if (field !== undefined && v !== undefined) values.set(field, v);
    };
    let country = read.country ?? 'NL';
    if (m.country) {
      const back = Object.entries(m.country.map).find(([, iso]) => iso === country);
      if (back) country = back[0];
    }
    set(m.plate.field, read.text);
    set(m.country?.field, country);
    if (m.confidence) set(m.confidence.field, formatConfidence(read.confidence ?? 1000, m.confidence.scale));
    if (m.charConfidences && read.charConfidences) {
      const c = m.charConfidences;
      const list = read.charConfidences.map((v) => formatConfidence(v, c.scale));
      set(c.field, c.separator !== undefined ? list.join(c.separator) : list);
    }
    if (m.timestamp && read.cameraTime !== undefined) set(m.timestamp.field, formatTime(read.cameraTime, m.timestamp));
    set(m.lane?.field, read.cameraLane);
    if (m.direction && read.direction) {
      const d = m.direction;
      set(d.field, Object.entries(d.values).find(([, v]) => v === read.direction)?.[0]);
    }
    set(m.imageRef?.field, read.imageRef);
    return this.frameBody(Buffer.from(this.#formatLayout(values), 'utf8'));
  }

  /** A keep-alive frame, when the dialect has one. */
  encodeHeartbeat(cameraTime?: number): Buffer | undefined {
    const hb = this.profile.heartbeat;
    if (!hb) return undefined;
    const values = new Map<string, unknown>([[hb.field, hb.equals]]);
    const ts = this.profile.mapping.timestamp;
    if (ts && cameraTime !== undefined) values.set(ts.field, formatTime(cameraTime, ts));
    return this.frameBody(Buffer.from(this.#formatLayout(values, true), 'utf8'));
  }

  #formatLayout(values: Map<string, unknown>, trimEmpty = false): string {
    const layout = this.profile.layout;
    switch (layout.type) {
      case 'delimited': {
        const parts = layout.fields.map((f) => (values.has(f) ? String(values.get(f)) : ''));
        while (trimEmpty && parts.length > 1 && parts[parts.length - 1] === '') parts.pop();
        return parts.join(layout.separator);
      }
      case 'key-value':
        return [...values].map(([k, v]) => `${k}${layout.keyValueSeparator}${String(v)}`).join(layout.pairSeparator);
      case 'json': {
        const doc: Record<string, unknown> = {};
        for (const [name, v] of values) {
          const path = name.split('.').map((s) => (/^\d+$/.test(s) ? Number(s) : s));
          let cur: Record<string | number, unknown> = doc;
          path.forEach((seg, i) => {
            if (i === path.length - 1) cur[seg] = v;
            else {
              cur[seg] ??= typeof path[i + 1] === 'number' ? [] : {};
              cur = cur[seg] as Record<string | number, unknown>;
            }
          });
        }
        return JSON.stringify(doc);
      }
    }
  }

  /** Adds checksum and framing around an already laid-out payload (also used to craft bad frames). */
  frameBody(layoutText: Buffer): Buffer {
    const ck = this.profile.checksum;
    const f = this.profile.framing;
    let payload: Buffer = layoutText;
    let trailer: Buffer = Buffer.alloc(0);
    if (this.checksum.width > 0) {
      if (ck.placement === 'suffix') {
        const startLen = this.startMarker?.length ?? 0;
        const value = this.checksum.compute(payload.subarray(ck.coversStart ? 0 : startLen));
        payload = Buffer.concat([payload, this.#separator, Buffer.from(checksumHex(value, this.checksum.width))]);
      } else {
        const value =
          ck.coversEnd && f.type === 'stx-etx'
            ? this.checksum.compute(payload, Uint8Array.of(f.etx))
            : this.checksum.compute(payload);
        trailer = checksumBytes(value, this.checksum.width, ck.byteOrder);
      }
    }
    switch (f.type) {
      case 'newline':
        return Buffer.concat([payload, Buffer.from('\n')]);
      case 'crlf':
        return Buffer.concat([payload, Buffer.from('\r\n')]);
      case 'stx-etx':
        return Buffer.concat([Uint8Array.of(f.stx), payload, Uint8Array.of(f.etx), trailer]);
      case 'length-prefixed': {
        const magic = f.magic ? Buffer.from(f.magic, 'hex') : Buffer.alloc(0);
        return Buffer.concat([magic, encodeLength(payload.length, f.length), payload, trailer]);
      }
    }
  }
}

export function encodeLength(
  n: number,
  spec: { bytes: number; encoding: 'uint-be' | 'uint-le' | 'ascii-decimal' },
): Buffer {
  if (spec.encoding === 'ascii-decimal') return Buffer.from(String(n).padStart(spec.bytes, '0'), 'latin1');
  return checksumBytes(n, spec.bytes, spec.encoding === 'uint-be' ? 'big' : 'little');
}

/** Reads a length field; undefined when it is not a number in that encoding. */
export function decodeLength(
  bytes: Uint8Array,
  spec: { bytes: number; encoding: 'uint-be' | 'uint-le' | 'ascii-decimal' },
): number | undefined {
  if (spec.encoding !== 'ascii-decimal')
    return readChecksumBytes(bytes, spec.encoding === 'uint-be' ? 'big' : 'little');
  let n = 0;
  for (const b of bytes) {
    if (b < 0x30 || b > 0x39) return undefined;
    n = n * 10 + (b - 0x30);
  }
  return n;
}

function fail(reason: RejectionReason, detail: string): { ok: false; reason: RejectionReason; detail: string } {
  return { ok: false, reason, detail };
}
