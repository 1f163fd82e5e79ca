import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { PlateHasher } from '../journal/privacy.js';

/**
 * The Amsterdam iotsignals passage (OpenAPI 1.0.4, src/region/spec/): what an existing
 * municipal ANPR back office accepts on POST /v1/passage. Only the fields zonegate can fill
 * are modelled; limits as in the spec.
 */
export const iotsignalsPassageSchema = z.object({
  id: z.string().max(36),
  volgnummer: z.number().int().min(1),
  timestamp: z.string().datetime({ offset: true }),
  camera: z.object({
    id: z.string().max(36),
    naam: z.string().max(255).optional(),
  }),
  rijrichting: z.enum(['VAN', 'NAAR']).optional(),
  rijstrook: z.number().int().optional(),
  voertuig: z.object({
    kenteken: z.object({
      kentekenHash: z.string().max(40),
      landcode: z.string().max(2),
      betrouwbaarheid: z.object({ kentekenBetrouwbaarheid: z.number().int().min(0).max(1000) }).optional(),
    }),
  }),
  automatischVerwerkbaar: z.boolean(),
});
export type IotsignalsPassage = z.infer<typeof iotsignalsPassageSchema>;

/** A stored event as the exporter reads it from zg_events. */
export interface StoredEvent {
  readonly gateway: string;
  readonly seq: number;
  readonly id: string;
  readonly type: string;
  readonly at: number;
  readonly lane: string | null;
  readonly payload: Readonly<Record<string, unknown>>;
}

export type MapResult = { ok: true; passage: IotsignalsPassage } | { ok: false; reason: string };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** camera.id is at most 36 characters: gateway and lane when they fit, else a stable digest. */
export function cameraId(gateway: string, lane: string | null): string {
  const plain = lane ? `${gateway}:${lane}` : gateway;
  return plain.length <= 36 ? plain : `zg-${createHash('sha256').update(plain).digest('hex').slice(0, 33)}`;
}

/**
 * One journaled passage (or, with a hasher, a violation) as an iotsignals passage. Passages
 * carry the gateway's keyed plate hash already; a violation's plain plate is hashed here with
 * the zone's key so that no plate text leaves for the municipal back office.
 */
export function toIotsignalsPassage(e: StoredEvent, violationHasher?: PlateHasher): MapResult {
  const p = e.payload;
  const country = typeof p['country'] === 'string' ? p['country'].slice(0, 2) : 'NL';
  let hash: string;
  if (e.type === 'passage') {
    if (typeof p['plateHash'] !== 'string') return { ok: false, reason: 'passage without plateHash' };
    hash = p['plateHash'];
  } else if (e.type === 'violation') {
    if (!violationHasher) return { ok: false, reason: 'violation (give a hash secret to export violations)' };
    if (typeof p['plate'] !== 'string') return { ok: false, reason: 'violation without plate' };
    hash = violationHasher.hash(p['plate'], country, e.at).hash;
  } else {
    return { ok: false, reason: `not a passage (${e.type})` };
  }
  const passageId = typeof p['passageId'] === 'string' && UUID.test(p['passageId']) ? p['passageId'] : e.id;
  const seenAt = typeof p['firstSeenAt'] === 'number' ? p['firstSeenAt'] : e.at;
  const confidence =
    typeof p['confidence'] === 'number' ? Math.round(Math.min(1000, Math.max(0, p['confidence']))) : undefined;
  const laneNumber = e.lane ? /(\d+)$/.exec(e.lane)?.[1] : undefined;
  const direction = p['direction'] === 'out' ? 'VAN' : p['direction'] === 'in' ? 'NAAR' : undefined;
  const passage: IotsignalsPassage = {
    id: passageId,
    volgnummer: 1,
    timestamp: new Date(seenAt).toISOString(),
    camera: { id: cameraId(e.gateway, e.lane), naam: `${e.gateway} ${e.lane ?? ''}`.trim().slice(0, 255) },
    ...(direction ? { rijrichting: direction } : {}),
    ...(laneNumber !== undefined ? { rijstrook: Number(laneNumber) } : {}),
    voertuig: {
      kenteken: {
        kentekenHash: hash,
        landcode: country,
        ...(confidence !== undefined ? { betrouwbaarheid: { kentekenBetrouwbaarheid: confidence } } : {}),
      },
    },
    automatischVerwerkbaar: p['reason'] !== 'low-confidence' && p['outcome'] !== 'manual',
  };
  const checked = iotsignalsPassageSchema.safeParse(passage);
  if (!checked.success) return { ok: false, reason: `does not fit the format: ${checked.error.issues[0]!.message}` };
  return { ok: true, passage: checked.data };
}
