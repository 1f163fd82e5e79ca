import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, expect, test } from 'vitest';
import { createPlateHasher, pseudonymisePassages } from '../../src/journal/privacy.js';
import { insertEvents, migrate } from '../../src/region/db.js';
import { exportPassages } from '../../src/region/export.js';
import { silentLogger } from '../../src/shared/log.js';
import { Registry } from '../../src/shared/metrics.js';
import type { IotsignalsPassage } from '../../src/region/iotsignals.js';
import type { UplinkEvent } from '../../src/sync/messages.js';
import { uuidv7 } from '../../src/journal/ids.js';
import { runCli } from '../helpers/cli.js';
import { startIotsignalsServer, type IotsignalsServer } from '../helpers/iotsignals-server.js';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.js';
import { tempDir } from '../helpers/tmp.js';

let db: TestDatabase;
let server: IotsignalsServer;
const dir = tempDir('zg-export-');
const secret = Buffer.from('00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff', 'hex');
const hasher = createPlateHasher({ secret, rotation: 'daily' });
const seal = pseudonymisePassages(hasher);
const T0 = Date.UTC(2026, 2, 2, 8, 0, 0);

function pipelinePassage(i: number, plate: string, outcome: string): UplinkEvent {
  const sealed = seal({
    type: outcome === 'record' ? 'violation' : 'passage',
    at: T0 + i * 1_000,
    lane: 'in-2',
    payload: {
      passageId: crypto.randomUUID(),
      plate,
      country: 'NL',
      display: plate,
      readText: plate,
      confidence: 912,
      firstSeenAt: T0 + i * 1_000 - 400,
      direction: 'in',
      outcome,
      reason: outcome === 'open' ? 'grant' : outcome === 'record' ? 'no-grant' : 'low-confidence',
      listVersion: 7,
    },
  });
  return {
    seq: 1_000 + i,
    id: uuidv7(sealed.at),
    type: sealed.type,
    at: sealed.at,
    lane: 'in-2',
    payload: { ...sealed.payload },
  };
}

beforeAll(async () => {
  db = await createTestDatabase();
  await migrate(db.pool);
  const events = [
    pipelinePassage(0, 'AB123C', 'open'),
    pipelinePassage(1, 'XY99ZZ', 'open'),
    pipelinePassage(2, '12ABC3', 'manual'),
    pipelinePassage(3, 'ZZ001Z', 'record'),
    { seq: 1_004, id: uuidv7(T0), type: 'bollard' as const, at: T0 + 4_000, lane: 'in-2', payload: { to: 'lowering' } },
  ];
  await insertEvents(db.pool, 'ams-nieuwmarkt-1', events);
});
afterAll(async () => {
  await db.drop();
  dir.remove();
});
beforeEach(async () => {
  server = await startIotsignalsServer();
  await db.pool.query('DELETE FROM zg_passage_exports');
  return () => server.close();
});

test('stored passages are delivered to an iotsignals back office in its format, once; the next run sends nothing again', async () => {
  const first = await runCli(['region', 'export-passages', '--pg', db.url, '--endpoint', server.url]);
  expect(first.stderr).toContain('exported 3 passages: 3 delivered, 0 already there (409), 0 failed');
  expect(first.code).toBe(0);
  expect(server.statuses).toEqual([200, 200, 200]);
  const sent = [...server.received.values()] as IotsignalsPassage[];
  const { rows } = await db.pool.query("SELECT payload FROM zg_events WHERE type = 'passage' ORDER BY seq");
  expect(sent.map((p) => p.voertuig.kenteken.kentekenHash)).toEqual(rows.map((r) => r.payload.plateHash));
  expect(sent[0]).toMatchObject({
    id: rows[0].payload.passageId,
    volgnummer: 1,
    timestamp: new Date(T0 - 400).toISOString(),
    camera: { id: 'ams-nieuwmarkt-1:in-2' },
    rijrichting: 'NAAR',
    rijstrook: 2,
    voertuig: { kenteken: { landcode: 'NL', betrouwbaarheid: { kentekenBetrouwbaarheid: 912 } } },
    automatischVerwerkbaar: true,
  });
  expect(sent[2]!.automatischVerwerkbaar).toBe(false); // manual handling
  // No plate text leaves: not in the hash, not anywhere in the bodies.
  expect(JSON.stringify(sent)).not.toMatch(/AB123C|XY99ZZ|12ABC3/);

  const again = await runCli(['region', 'export-passages', '--pg', db.url, '--endpoint', server.url]);
  expect(again.stderr).toContain('exported 0 passages');
  expect(server.statuses).toHaveLength(3);
});

test('a passage the back office already has (409) counts as delivered', async () => {
  const registry = new Registry();
  const deps = { pool: db.pool, registry, log: silentLogger, endpoint: server.url };
  await exportPassages(deps);
  await db.pool.query('DELETE FROM zg_passage_exports'); // as if our record of the delivery was lost
  const r = await exportPassages(deps);
  expect(r).toMatchObject({ exported: 3, delivered: 0, alreadyThere: 3, failed: 0 });
  const { rows } = await db.pool.query('SELECT http_status FROM zg_passage_exports');
  expect(rows.map((x) => x.http_status)).toEqual([409, 409, 409]);
});

test('an outage of the back office is retried; a refusal is reported, left for the next run, and fails the command', async () => {
  server.failNext(2, 503);
  const r = await exportPassages({
    pool: db.pool,
    registry: new Registry(),
    log: silentLogger,
    endpoint: server.url,
    concurrency: 1,
  });
  expect(r).toMatchObject({ delivered: 3, failed: 0 });
  expect(server.statuses.slice(0, 2)).toEqual([503, 503]);

  await db.pool.query('DELETE FROM zg_passage_exports');
  server.received.clear();
  server.failNext(1, 400);
  const cli = await runCli([
    'region',
    'export-passages',
    '--pg',
    db.url,
    '--endpoint',
    server.url,
    '--concurrency',
    '1',
  ]);
  expect(cli.code).toBe(1);
  expect(cli.stderr).toMatch(/2 delivered, 0 already there \(409\), 1 failed/);
  expect(cli.stderr).toMatch(/ams-nieuwmarkt-1 seq 100\d: 400/);
  const { rows } = await db.pool.query('SELECT count(*)::int AS n FROM zg_passage_exports');
  expect(rows[0].n).toBe(2);
});

test('violations leave only with --violations, hashed with the zone key exactly as the gateways hash passages', async () => {
  const secretFile = join(dir.path, 'plate-hash.secret');
  writeFileSync(secretFile, secret.toString('hex'));
  const r = await runCli([
    'region',
    'export-passages',
    '--pg',
    db.url,
    '--out',
    '-',
    '--violations',
    '--hash-secret',
    secretFile,
  ]);
  expect(r.code).toBe(0);
  const lines = r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as IotsignalsPassage);
  expect(lines).toHaveLength(4);
  const violation = lines[3]!;
  expect(violation.voertuig.kenteken.kentekenHash).toBe(hasher.hash('ZZ001Z', 'NL', T0 + 3_000).hash);
  expect(r.stdout).not.toContain('ZZ001Z');
  // Writing to a file or stdout records no delivery.
  const { rows } = await db.pool.query('SELECT count(*)::int AS n FROM zg_passage_exports');
  expect(rows[0].n).toBe(0);
});

test('the command names what is wrong with its arguments and exits 2', async () => {
  const missingSecret = join(dir.path, 'no-such.secret');
  const unwritable = join(dir.path, 'no-such-dir', 'passages.jsonl');
  const [none, since, secret, out] = await Promise.all([
    runCli(['region', 'export-passages', '--pg', db.url]),
    runCli(['region', 'export-passages', '--pg', db.url, '--out', '-', '--since', 'yesterday']),
    runCli(['region', 'export-passages', '--pg', db.url, '--out', '-', '--violations', '--hash-secret', missingSecret]),
    runCli(['region', 'export-passages', '--pg', db.url, '--out', unwritable]),
  ]);
  expect(none.code).toBe(2);
  expect(none.stderr).toContain('give --endpoint URL to deliver, or --out FILE');
  expect(since.code).toBe(2);
  expect(since.stderr).toContain('--since: "yesterday" is not an ISO 8601 time');
  // A mistyped secret path must not become a new random secret: its hashes would match nothing.
  expect(secret.code).toBe(2);
  expect(secret.stderr).toContain(`--hash-secret: cannot read ${missingSecret} (ENOENT)`);
  expect(existsSync(missingSecret)).toBe(false);
  expect(out.code).toBe(2);
  expect(out.stderr).toContain(`--out: cannot write ${unwritable} (ENOENT)`);
  expect(out.stderr).not.toContain('    at ');
});
