import { z } from 'zod';
import { CHECKSUM_ALGORITHMS } from './checksum.js';

/**
 * A dialect profile: how one family of ANPR cameras frames, lays out and checksums its plate
 * reads. Profiles are YAML files in firmware-config/dialects/ (or any file a source points at),
 * so supporting a new camera needs a config file, not code. docs/camera-input.md explains every
 * key with the shipped profiles as examples.
 */

const fieldName = z.string().min(1).max(64).describe('field name: a position name (delimited), a key, or a JSON path');

/** `plate: plate` is shorthand for `plate: { field: plate }`. */
function fieldRef<T extends z.ZodRawShape>(extra: T) {
  return z.preprocess(
    (v) => (typeof v === 'string' ? { field: v } : v),
    z.strictObject({ field: fieldName, ...extra }),
  );
}

const byteValue = z.number().int().min(0).max(255);
const maxFrameBytes = z
  .number()
  .int()
  .min(16)
  .max(65_536)
  .default(512)
  .describe('longest frame accepted; longer input is counted as line-too-long and dropped');
const idleTimeoutMs = z
  .number()
  .int()
  .min(50)
  .max(60_000)
  .default(1_000)
  .describe('a frame left incomplete this long (no more bytes) is dropped as truncated-frame');
const startMarker = z
  .string()
  .min(1)
  .max(8)
  .optional()
  .describe('text every frame begins with (part of the payload); after noise, decoding resumes at it');

export const framingSchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('newline').describe('frames end at LF; a CR before the LF is ignored'),
    start: startMarker,
    maxFrameBytes,
    idleTimeoutMs,
  }),
  z.strictObject({
    type: z.literal('crlf').describe('frames end at CR LF; a lone LF is part of the frame'),
    start: startMarker,
    maxFrameBytes,
    idleTimeoutMs,
  }),
  z.strictObject({
    type: z.literal('stx-etx').describe('frames run from STX to ETX; bytes between frames are noise'),
    stx: byteValue.default(0x02),
    etx: byteValue.default(0x03),
    maxFrameBytes,
    idleTimeoutMs,
  }),
  z.strictObject({
    type: z.literal('length-prefixed').describe('[magic] length payload [checksum trailer]'),
    magic: z
      .string()
      .regex(/^([0-9a-fA-F]{2}){1,4}$/, 'hex bytes, e.g. "aa55"')
      .optional()
      .describe('sync bytes before the length (hex); without them a stream cannot resynchronise after noise'),
    length: z
      .strictObject({
        bytes: z.number().int().min(1).max(8).default(2),
        encoding: z.enum(['uint-be', 'uint-le', 'ascii-decimal']).default('uint-be'),
      })
      .prefault({})
      .describe('the length field counts payload bytes only (not magic, length or checksum)'),
    maxFrameBytes,
    idleTimeoutMs,
  }),
]);

export const checksumSchema = z
  .strictObject({
    algorithm: z.enum(CHECKSUM_ALGORITHMS).default('none'),
    placement: z
      .enum(['suffix', 'trailer'])
      .default('suffix')
      .describe('suffix: hex digits after `separator` at the end of the payload; trailer: raw bytes after the frame'),
    separator: z.string().min(1).max(4).default('*').describe('(suffix) text between the payload and the hex digits'),
    coversStart: z
      .boolean()
      .default(false)
      .describe('(suffix) whether the framing start marker is included, NMEA style is false'),
    coversEnd: z.boolean().default(false).describe('(trailer, stx-etx) whether the ETX byte is included (BCC style)'),
    byteOrder: z.enum(['big', 'little']).default('big').describe('(trailer) order of multi-byte checksums'),
  })
  .prefault({});

export const layoutSchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('delimited'),
    separator: z.string().min(1).max(4),
    fields: z.array(z.string().min(1)).min(1).describe('field names by position; "-" for a field that is ignored'),
    extraFields: z.enum(['reject', 'ignore']).default('reject').describe('what to do with fields past the last name'),
  }),
  z.strictObject({
    type: z.literal('key-value'),
    pairSeparator: z.string().min(1).max(4),
    keyValueSeparator: z.string().min(1).max(4).default('='),
  }),
  z.strictObject({
    type: z.literal('json').describe('one JSON object per frame; fields are dotted paths, e.g. results.0.plate'),
  }),
]);

const direction = z.enum(['in', 'out']);

export const mappingSchema = z.strictObject({
  plate: fieldRef({}).describe('plate text as read; separators and case are normalised'),
  country: fieldRef({
    default: z
      .string()
      .regex(/^[A-Z]{2}$/)
      .default('NL'),
    map: z
      .record(z.string(), z.string().regex(/^[A-Z]{2}$/))
      .default({})
      .describe('camera value → ISO alpha-2, e.g. { D: DE, NLD: NL }'),
  }).optional(),
  confidence: fieldRef({
    scale: z.number().positive().describe("the camera's full-scale value: 1, 100, 1000 …"),
  }).optional(),
  charConfidences: fieldRef({
    scale: z.number().positive(),
    separator: z.string().min(1).max(4).optional().describe('for a text field; JSON arrays need none'),
  }).optional(),
  timestamp: fieldRef({
    format: z.enum(['iso8601', 'epoch-ms', 'epoch-s', 'pattern']),
    pattern: z.string().min(1).optional().describe('(format pattern) a Luxon format, e.g. yyyyMMddHHmmssSSS'),
    zone: z.string().default('UTC').describe('(format pattern) IANA zone of the camera clock'),
  }).optional(),
  lane: fieldRef({}).optional().describe("camera's lane label; mapped to gateway lanes by the source's laneMap"),
  direction: fieldRef({
    values: z.record(z.string(), direction).describe('camera value → in/out'),
  }).optional(),
  imageRef: fieldRef({}).optional(),
});

export const dialectProfileSchema = z
  .strictObject({
    name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,40}$/, 'a name of lower-case letters, digits and dashes'),
    title: z.string().min(1),
    description: z.string().default(''),
    framing: framingSchema,
    checksum: checksumSchema,
    layout: layoutSchema,
    match: z
      .record(fieldName, z.string())
      .default({})
      .describe('fields that must hold these exact values (message type, sentence id)'),
    heartbeat: z
      .strictObject({ field: fieldName, equals: z.string() })
      .optional()
      .describe('frames with this value are keep-alives: counted, not reads'),
    mapping: mappingSchema,
    examples: z
      .array(z.string())
      .default([])
      .describe('complete frames (bytes as \\xNN escapes); each must decode — the tests check it'),
  })
  .superRefine((p, ctx) => {
    const issue = (path: (string | number)[], message: string): void => ctx.addIssue({ code: 'custom', path, message });
    if (p.checksum.placement === 'trailer' && p.checksum.algorithm !== 'none') {
      if (p.framing.type !== 'stx-etx' && p.framing.type !== 'length-prefixed')
        issue(['checksum', 'placement'], 'a trailer checksum needs framing stx-etx or length-prefixed');
    }
    if (p.checksum.coversEnd && p.framing.type !== 'stx-etx')
      issue(['checksum', 'coversEnd'], 'coversEnd applies to stx-etx framing only');
    if (p.mapping.timestamp?.format === 'pattern' && !p.mapping.timestamp.pattern)
      issue(['mapping', 'timestamp', 'pattern'], 'format pattern needs a pattern');
    if (p.layout.type === 'delimited') {
      const names = new Set(p.layout.fields);
      const refs: [string, string | undefined][] = [
        ...Object.entries(p.mapping).map(([k, v]): [string, string | undefined] => [
          `mapping.${k}`,
          (v as { field: string } | undefined)?.field,
        ]),
        ...Object.keys(p.match).map((f): [string, string] => ['match', f]),
        ['heartbeat.field', p.heartbeat?.field],
      ];
      for (const [where, field] of refs) {
        if (field !== undefined && !names.has(field))
          issue(where.split('.'), `field "${field}" is not one of layout.fields (${p.layout.fields.join(', ')})`);
      }
    }
  });

export type DialectProfile = z.infer<typeof dialectProfileSchema>;
export type Framing = DialectProfile['framing'];
export type Mapping = DialectProfile['mapping'];
