import { afterAll, expect, test } from 'vitest';
import { journaledKeys, kill, spawnGateways, spawnIngest, type Child } from '../helpers/fault.js';
import { storedKeys } from '../helpers/postgres.js';
import { regionTestBed } from '../helpers/region-bed.js';
import { tempDir } from '../helpers/tmp.js';

const long = process.env['ZONEGATE_SOAK'] === 'long';
const region = regionTestBed();
const dir = tempDir('zg-fault-many-');
const children: Child[] = [];

afterAll(async () => {
  for (const c of children) await kill(c, 'SIGTERM');
  dir.remove();
});

test(
  '50 gateways against 3 ingest instances sharing one subscription: every event stored exactly once, the load shared',
  async () => {
    const ingests = ['ingest-a', 'ingest-b', 'ingest-c'].map((instance) =>
      spawnIngest({ pg: region.db.url, broker: region.broker.url, instance }),
    );
    children.push(...ingests);
    await Promise.all(ingests.map((i) => i.waitFor('ingest: consuming')));
    const gateways = Array.from({ length: 50 }, (_, i) => `gw-many-${String(i + 1).padStart(2, '0')}`);
    const events = long ? 2_000 : 60;
    const sim = spawnGateways({ dir: dir.path, broker: region.broker.url, gateways, events, rate: long ? 100 : 30 });
    children.push(sim);
    await sim.waitFor('drained', long ? 400_000 : 90_000);

    const journaled = new Set(gateways.flatMap((id) => journaledKeys(dir.path, id)));
    expect(journaled.size).toBe(gateways.length * (events + 1));
    const { keys, rows } = await storedKeys(region.db.pool);
    expect(rows).toBe(keys.size);
    expect([...journaled].filter((k) => !keys.has(k))).toEqual([]);
    expect([...keys].filter((k) => !journaled.has(k))).toEqual([]);
    const { rows: by } = await region.db.pool.query<{ received_by: string; n: number }>(
      'SELECT received_by, count(*)::int AS n FROM zg_events GROUP BY received_by',
    );
    expect(by.map((r) => r.received_by).sort()).toEqual(['ingest-a', 'ingest-b', 'ingest-c']);
  },
  long ? 600_000 : 120_000,
);
