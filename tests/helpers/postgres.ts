import { randomBytes } from 'node:crypto';
import pg from 'pg';

/**
 * Tests use the PostgreSQL server named by the usual libpq variables (PGHOST, PGPORT, PGUSER,
 * PGPASSWORD), by default the local one at 127.0.0.1:5432 as user postgres, and create a
 * database of their own that they drop afterwards.
 */
export function serverConfig(): pg.ClientConfig {
  return {
    host: process.env['PGHOST'] ?? '127.0.0.1',
    port: Number(process.env['PGPORT'] ?? 5432),
    user: process.env['PGUSER'] ?? 'postgres',
    ...(process.env['PGPASSWORD'] !== undefined ? { password: process.env['PGPASSWORD'] } : {}),
  };
}

export interface TestDatabase {
  readonly name: string;
  readonly config: pg.ClientConfig & { database: string };
  /** postgres://… for child processes (`zonegate region ingest --pg URL`). */
  readonly url: string;
  readonly pool: pg.Pool;
  drop(): Promise<void>;
}

export async function createTestDatabase(prefix = 'zg_test'): Promise<TestDatabase> {
  const server = serverConfig();
  const name = `${prefix}_${randomBytes(5).toString('hex')}`;
  const admin = new pg.Client({ ...server, database: 'postgres' });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const config = { ...server, database: name };
  const pool = new pg.Pool({ ...config, max: 4 });
  const auth =
    server.password !== undefined
      ? `${encodeURIComponent(server.user!)}:${encodeURIComponent(String(server.password))}@`
      : `${encodeURIComponent(server.user!)}@`;
  const url = `postgres://${auth}${server.host}:${server.port}/${name}`;
  return {
    name,
    config,
    url,
    pool,
    async drop() {
      await pool.end();
      const a = new pg.Client({ ...server, database: 'postgres' });
      await a.connect();
      try {
        // pool.end() can resolve before the server has seen its connections close; a forced drop
        // would then kill them and their late 57P01 error would escape. Give them a moment first.
        for (let attempt = 0; ; attempt++) {
          try {
            await a.query(`DROP DATABASE IF EXISTS ${name}${attempt >= 50 ? ' WITH (FORCE)' : ''}`);
            break;
          } catch (err) {
            if ((err as { code?: string }).code !== '55006' || attempt >= 50) throw err;
            await new Promise((r) => setTimeout(r, 100));
          }
        }
      } finally {
        await a.end();
      }
    },
  };
}

/** Every (gateway, seq) stored, as "gateway:seq" strings, and whether any appears twice. */
export async function storedKeys(pool: pg.Pool): Promise<{ keys: Set<string>; rows: number }> {
  const { rows } = await pool.query<{ gateway: string; seq: string }>('SELECT gateway, seq FROM zg_events');
  return { keys: new Set(rows.map((r) => `${r.gateway}:${r.seq}`)), rows: rows.length };
}
