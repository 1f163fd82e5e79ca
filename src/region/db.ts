import type { Pool, PoolClient } from 'pg';
import type { UplinkEvent } from '../sync/messages.js';

/**
 * The reference back office's tables. Events are keyed on (gateway, seq): a batch that arrives
 * twice (resend, redelivery after a crash) inserts nothing the second time.
 */
const MIGRATION = `
CREATE TABLE IF NOT EXISTS zg_events (
  gateway     text        NOT NULL,
  seq         bigint      NOT NULL,
  id          uuid        NOT NULL,
  type        text        NOT NULL,
  at          timestamptz NOT NULL,
  lane        text,
  payload     jsonb       NOT NULL,
  received_at timestamptz NOT NULL DEFAULT now(),
  received_by text,
  PRIMARY KEY (gateway, seq)
);
CREATE INDEX IF NOT EXISTS zg_events_type_at ON zg_events (type, at);
CREATE TABLE IF NOT EXISTS zg_passage_exports (
  gateway      text        NOT NULL,
  seq          bigint      NOT NULL,
  delivered_at timestamptz NOT NULL DEFAULT now(),
  http_status  integer     NOT NULL,
  PRIMARY KEY (gateway, seq)
);
CREATE TABLE IF NOT EXISTS zg_gateway_status (
  gateway    text        PRIMARY KEY,
  state      text        NOT NULL,
  status     jsonb       NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);
`;

/** Creates the tables if needed; several ingest instances may start at once (advisory lock). */
export async function migrate(pool: Pool): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock(7263541)');
    await client.query(MIGRATION);
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

const INSERT = `
INSERT INTO zg_events (gateway, seq, id, type, at, lane, payload, received_by)
SELECT $1, e.seq, e.id, e.type, to_timestamp(e.at / 1000.0), e.lane, e.payload, $3
FROM jsonb_to_recordset($2::jsonb) AS e(seq bigint, id uuid, type text, at bigint, lane text, payload jsonb)
ON CONFLICT (gateway, seq) DO NOTHING`;

/** Inserts a batch in one statement (one transaction); returns how many rows were new. */
export async function insertEvents(
  db: Pool | PoolClient,
  gateway: string,
  events: readonly UplinkEvent[],
  instance: string | null = null,
): Promise<number> {
  const result = await db.query(INSERT, [gateway, JSON.stringify(events), instance]);
  return result.rowCount ?? 0;
}

export async function upsertGatewayStatus(
  db: Pool | PoolClient,
  gateway: string,
  state: string,
  status: unknown,
): Promise<void> {
  await db.query(
    `INSERT INTO zg_gateway_status (gateway, state, status, updated_at) VALUES ($1, $2, $3, now())
     ON CONFLICT (gateway) DO UPDATE SET state = excluded.state, status = excluded.status, updated_at = now()`,
    [gateway, state, JSON.stringify(status)],
  );
}
