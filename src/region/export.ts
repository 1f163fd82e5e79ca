import type { Pool } from 'pg';
import type { Registry } from 'prom-client';
import type { PlateHasher } from '../journal/privacy.js';
import type { Logger } from '../shared/log.js';
import { counter } from '../shared/metrics.js';
import { toIotsignalsPassage, type IotsignalsPassage, type StoredEvent } from './iotsignals.js';

export interface ExportDeps {
  readonly pool: Pool;
  readonly registry: Registry;
  readonly log: Logger;
  /** POST each passage to `{endpoint}` (e.g. https://host/api/v1/passage); 200 and 409 count as delivered. */
  readonly endpoint?: string;
  /** Extra request headers, e.g. authorization. */
  readonly headers?: Readonly<Record<string, string>>;
  /** Receives every mapped passage (JSON lines output, dry runs). */
  readonly sink?: (passage: IotsignalsPassage, source: StoredEvent) => void;
  /** Only events at or after this time (ms epoch). */
  readonly since?: number;
  /** Also export violations, hashed with the zone's key (otherwise they stay out: they hold plain plates). */
  readonly violationHasher?: PlateHasher;
  /** Include passages already delivered (re-send; the endpoint answers 409). */
  readonly again?: boolean;
  readonly concurrency?: number;
  readonly pageSize?: number;
  readonly retries?: number;
  readonly fetch?: typeof fetch;
}

export interface ExportResult {
  readonly exported: number;
  readonly delivered: number;
  /** Delivered before (the endpoint answered 409). */
  readonly alreadyThere: number;
  readonly skipped: number;
  readonly failed: number;
  readonly failures: readonly { gateway: string; seq: number; status: number | string; body?: string }[];
}

const TRANSIENT = new Set([408, 425, 429, 500, 502, 503, 504]);

/**
 * Turns stored passages into iotsignals passages and, with an endpoint, delivers them, one POST
 * each as the API wants. Delivered passages are recorded in zg_passage_exports and not sent
 * again; 409 (sent before) counts as delivered; transient failures are retried with backoff;
 * anything else is reported and left for the next run.
 */
export async function exportPassages(deps: ExportDeps): Promise<ExportResult> {
  const log = deps.log.child({ module: 'export' });
  const r = deps.registry;
  const metrics = {
    posts: counter(r, 'zonegate_export_posts_total', 'Passage POSTs, by HTTP status or error', ['status']),
    skipped: counter(r, 'zonegate_export_skipped_total', 'Events not exportable, by reason', ['reason']),
  };
  const doFetch = deps.fetch ?? fetch;
  const pageSize = deps.pageSize ?? 500;
  const concurrency = deps.concurrency ?? 4;
  const retries = deps.retries ?? 4;
  const types = deps.violationHasher ? ['passage', 'violation'] : ['passage'];
  let cursor: [number, string, number] = [deps.since ?? 0, '', 0];
  let exported = 0;
  let delivered = 0;
  let alreadyThere = 0;
  let skipped = 0;
  const failures: { gateway: string; seq: number; status: number | string; body?: string }[] = [];

  const post = async (passage: IotsignalsPassage, e: StoredEvent): Promise<void> => {
    for (let attempt = 0; ; attempt++) {
      let status: number | string;
      let body = '';
      try {
        const res = await doFetch(deps.endpoint!, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...deps.headers },
          body: JSON.stringify(passage),
        });
        status = res.status;
        body = (await res.text()).slice(0, 300);
      } catch (err) {
        status = (err as { cause?: { code?: string } }).cause?.code ?? 'network-error';
      }
      metrics.posts.inc({ status: String(status) });
      if (status === 200 || status === 201 || status === 204 || status === 409) {
        await deps.pool.query(
          `INSERT INTO zg_passage_exports (gateway, seq, http_status) VALUES ($1, $2, $3)
           ON CONFLICT (gateway, seq) DO UPDATE SET delivered_at = now(), http_status = excluded.http_status`,
          [e.gateway, e.seq, status],
        );
        if (status === 409) alreadyThere++;
        else delivered++;
        return;
      }
      const transient = typeof status === 'string' || TRANSIENT.has(status);
      if (!transient || attempt >= retries) {
        failures.push({ gateway: e.gateway, seq: e.seq, status, ...(body ? { body } : {}) });
        log.warn({ gateway: e.gateway, seq: e.seq, status, body }, 'passage not delivered');
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, Math.min(10_000, 250 * 2 ** attempt)));
    }
  };

  for (;;) {
    const { rows } = await deps.pool.query<{
      gateway: string;
      seq: string;
      id: string;
      type: string;
      at_ms: string;
      lane: string | null;
      payload: Record<string, unknown>;
    }>(
      `SELECT e.gateway, e.seq, e.id, e.type, (extract(epoch FROM e.at) * 1000)::bigint AS at_ms, e.lane, e.payload
       FROM zg_events e
       ${deps.again ? '' : 'LEFT JOIN zg_passage_exports x ON x.gateway = e.gateway AND x.seq = e.seq'}
       WHERE e.type = ANY($1) ${deps.again ? '' : 'AND x.gateway IS NULL'}
         AND (e.at, e.gateway, e.seq) > (to_timestamp($2 / 1000.0), $3, $4)
       ORDER BY e.at, e.gateway, e.seq
       LIMIT $5`,
      [types, cursor[0] === 0 && cursor[1] === '' ? -1 : cursor[0], cursor[1], cursor[2], pageSize],
    );
    if (rows.length === 0) break;
    const last = rows[rows.length - 1]!;
    cursor = [Number(last.at_ms), last.gateway, Number(last.seq)];
    const work: [IotsignalsPassage, StoredEvent][] = [];
    for (const row of rows) {
      const e: StoredEvent = {
        gateway: row.gateway,
        seq: Number(row.seq),
        id: row.id,
        type: row.type,
        at: Number(row.at_ms),
        lane: row.lane,
        payload: row.payload,
      };
      const mapped = toIotsignalsPassage(e, deps.violationHasher);
      if (!mapped.ok) {
        skipped++;
        metrics.skipped.inc({ reason: mapped.reason.split(' (')[0]!.split(':')[0]! });
        continue;
      }
      exported++;
      deps.sink?.(mapped.passage, e);
      work.push([mapped.passage, e]);
    }
    if (deps.endpoint) {
      let next = 0;
      await Promise.all(
        Array.from({ length: Math.min(concurrency, work.length) }, async () => {
          while (next < work.length) {
            const [passage, e] = work[next++]!;
            await post(passage, e);
          }
        }),
      );
    }
    if (rows.length < pageSize) break;
  }
  return { exported, delivered, alreadyThere, skipped, failed: failures.length, failures };
}
