import { z } from 'zod';
import { EVENT_TYPES } from '../journal/types.js';

/**
 * Payloads on the uplink topics, validated at both ends. Versioned by `v`; a receiver refuses a
 * version it does not know rather than guessing. docs/mqtt/ holds the same as JSON Schema.
 */
const gatewayId = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'a gateway id');
const seq = z.number().int().positive().max(Number.MAX_SAFE_INTEGER);

export const eventSchema = z.strictObject({
  seq,
  id: z.string().uuid(),
  type: z.enum(EVENT_TYPES),
  at: z.number().int().nonnegative(),
  lane: z.string().max(63).optional(),
  payload: z.record(z.string(), z.unknown()),
});
export type UplinkEvent = z.infer<typeof eventSchema>;

/** gateway → region on `{prefix}/gw/{gateway}/events`. Events in seq order; first/last bound them. */
export const batchSchema = z
  .strictObject({
    v: z.literal(1),
    gateway: gatewayId,
    first: seq,
    last: seq,
    count: z.number().int().positive(),
    sentAt: z.number().int().nonnegative(),
    events: z.array(eventSchema).min(1),
  })
  .superRefine((b, ctx) => {
    if (b.count !== b.events.length)
      ctx.addIssue({ code: 'custom', path: ['count'], message: `count ${b.count} but ${b.events.length} events` });
    let prev = b.first - 1;
    b.events.forEach((e, i) => {
      if (e.seq <= prev)
        ctx.addIssue({ code: 'custom', path: ['events', i, 'seq'], message: 'events must be in increasing seq order' });
      prev = e.seq;
    });
    if (b.events[0]?.seq !== b.first || b.events[b.events.length - 1]?.seq !== b.last)
      ctx.addIssue({ code: 'custom', path: ['first'], message: 'first/last do not match the events' });
  });
export type EventBatch = z.infer<typeof batchSchema>;

/** region → gateway on `{prefix}/gw/{gateway}/ack`: these seq ranges are committed. */
export const ackSchema = z.strictObject({
  v: z.literal(1),
  gateway: gatewayId,
  ranges: z
    .array(z.tuple([seq, seq]))
    .min(1)
    .max(1000),
  at: z.number().int().nonnegative(),
});
export type AckMessage = z.infer<typeof ackSchema>;

/** gateway, retained, on `{prefix}/gw/{gateway}/status`; the last will is the offline form. */
export const statusSchema = z.looseObject({
  v: z.literal(1),
  gateway: gatewayId,
  state: z.enum(['online', 'offline']),
  /** Why offline: connection-lost (the broker's last will), stopped (clean shutdown). */
  reason: z.enum(['connection-lost', 'stopped']).optional(),
  at: z.number().int().nonnegative().optional(),
  versions: z.record(z.string(), z.string()).optional(),
  journal: z
    .looseObject({
      backlog: z.number().int().nonnegative(),
      lastSeq: z.number().int().nullable(),
      ackedThrough: z.number().int(),
      dropped: z.record(z.string(), z.number()),
    })
    .optional(),
});
export type StatusMessage = z.infer<typeof statusSchema>;

/** Parses JSON and validates it; returns a reason instead of throwing (bad input is counted). */
export function parseMessage<T>(
  schema: z.ZodType<T>,
  payload: Buffer,
): { ok: true; value: T } | { ok: false; reason: 'not-json' | 'invalid'; detail: string } {
  let json: unknown;
  try {
    json = JSON.parse(payload.toString('utf8'));
  } catch (err) {
    return { ok: false, reason: 'not-json', detail: (err as Error).message };
  }
  const result = schema.safeParse(json);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    return { ok: false, reason: 'invalid', detail: `${issue.path.join('.') || '(top)'}: ${issue.message}` };
  }
  return { ok: true, value: result.data };
}
