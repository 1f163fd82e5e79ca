import { z } from 'zod';
import { bollardSchema, mqttSchema, policySchema, siteSchema, sourceSchema } from '../../config/schema.js';

/**
 * What provisioning needs to know, as a file (`zonegate provision --answers FILE`) or gathered
 * question by question. The same field checks back both, so a scripted install and an
 * interactive one refuse the same mistakes with the same words.
 */
const gatewayShape = siteSchema.shape.gateway.shape;
export const fields = {
  gatewayId: gatewayShape.id,
  site: gatewayShape.site,
  municipality: gatewayShape.municipality,
  zone: gatewayShape.zone,
  laneId: gatewayShape.id,
  gpioPin: z.coerce.number().int().min(0).max(53),
};

/**
 * The cameras that may connect to a tcp-server source: the site profile's own check, so an entry
 * provisioning accepts is one the gateway accepts. A file or flag may give them as one
 * comma-separated string, as the question takes them.
 */
const allowFromSchema = sourceSchema.shape.allowFrom.unwrap();
const allowFromAnswer = z.preprocess((v) => (typeof v === 'string' ? splitAddressList(v) : v), allowFromSchema);

/** "192.0.2.10, 192.0.2.16/28" → its entries; commas and/or blanks separate them. */
export function splitAddressList(text: string): string[] {
  return text.split(/[\s,]+/).filter((e) => e !== '');
}

/** The first problem of an address list (naming the entry), or undefined when every entry is an address or range. */
export function addressListProblem(entries: readonly string[]): string | undefined {
  const r = allowFromSchema.safeParse(entries);
  return r.success ? undefined : r.error.issues[0]?.message;
}

const cameraSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('serial'),
    device: z.string().min(1),
    /** Probed when absent. */
    baudRate: z.number().int().positive().optional(),
    dialect: z.string().optional(),
  }),
  z.strictObject({ kind: z.literal('rtsp'), url: z.string().regex(/^rtsps?:\/\//, 'an rtsp:// URL') }),
  z.strictObject({
    kind: z.literal('tcp-client'),
    host: z.string().min(1),
    port: z.number().int().min(1).max(65535),
    dialect: z.string().optional(),
  }),
  z.strictObject({
    kind: z.literal('tcp-server'),
    port: z.number().int().min(1).max(65535),
    /** Required when the lane has a bollard (asked, or an error when nobody can be asked). */
    allowFrom: allowFromAnswer.optional(),
    dialect: z.string().optional(),
  }),
]);
export type CameraAnswer = z.infer<typeof cameraSchema>;

const laneSchema = z.strictObject({
  id: fields.laneId,
  direction: z.enum(['in', 'out']).default('in'),
  camera: cameraSchema,
  /** The site profile's bollard section as is (checked when the profile is built); absent on camera-only lanes. */
  bollard: z.unknown().optional(),
});

export const answersSchema = z.strictObject({
  gateway: z.strictObject({
    id: fields.gatewayId,
    site: fields.site,
    municipality: fields.municipality,
    zone: fields.zone,
  }),
  dataDir: z.string().min(1).optional(),
  lanes: z.array(laneSchema).min(1),
  mqtt: z
    .strictObject({
      url: mqttSchema.shape.url.unwrap(),
      topicPrefix: z.string().optional(),
      /** A CA certificate file to install as keys/ca.crt. */
      ca: z.string().optional(),
      /** Create a client key and certificate request (default true for mqtts). */
      clientCertificate: z.boolean().optional(),
    })
    .optional(),
  /** The region's Ed25519 list-signing public key: PEM text, base64 of the 32 raw bytes, or a file. */
  listSigningKey: z.string().min(1).optional(),
  status: z
    .strictObject({
      listen: z.string().min(1).optional(),
      port: z.number().int().min(1).max(65535).optional(),
      token: z.string().min(16).optional(),
    })
    .optional(),
  policy: z.unknown().optional(),
});

export type LaneAnswer = z.infer<typeof laneSchema>;
export type Answers = z.infer<typeof answersSchema>;

/** The checked forms of the pass-through sections, for messages before the whole profile is built. */
export const passThrough = { bollard: bollardSchema, policy: policySchema };

/** First problem of a value against a field schema, as a message; undefined when it is fine. */
export function fieldProblem(schema: z.ZodType, value: unknown): string | undefined {
  const r = schema.safeParse(value);
  return r.success ? undefined : r.error.issues[0]?.message;
}

/** `--allow-from [LANE=]ADDRESSES`: for one lane's tcp-server camera, or without LANE for every one. */
export interface AllowFromFlag {
  readonly lane?: string;
  readonly entries: readonly string[];
}

/** Parses one --allow-from value; a string result is the problem, naming the bad part. */
export function parseAllowFromFlag(text: string): AllowFromFlag | string {
  // `=` is never part of an IPv4/IPv6 address or range, so it can only separate a lane.
  const eq = text.indexOf('=');
  const lane = eq < 0 ? undefined : text.slice(0, eq).trim();
  const entries = splitAddressList(eq < 0 ? text : text.slice(eq + 1));
  if (lane !== undefined) {
    const problem = fieldProblem(fields.laneId, lane);
    if (problem !== undefined) return `lane "${lane}": ${problem}`;
  }
  if (entries.length === 0) return 'no address given, e.g. --allow-from 192.0.2.10 or --allow-from in-1=192.0.2.16/28';
  const problem = addressListProblem(entries);
  return problem ?? { ...(lane !== undefined ? { lane } : {}), entries };
}
