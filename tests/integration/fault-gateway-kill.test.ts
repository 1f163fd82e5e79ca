import { afterAll, beforeAll, expect, test } from 'vitest';
import type { Ingest } from '../../src/region/ingest.js';
import { journaledKeys, kill, spawnGateways } from '../helpers/fault.js';
import { storedKeys } from '../helpers/postgres.js';
import { regionTestBed, startIngest } from '../helpers/region-bed.js';
import { tempDir } from '../helpers/tmp.js';

const long = process.env['ZONEGATE_SOAK'] === 'long';
const region = regionTestBed();
let ingest: Ingest;
const dir = tempDir('zg-fault-kill-');

beforeAll(async () => {
  ingest = await startIngest(region, 'kill-fault');
});
afterAll(async () => {
  await ingest.stop();
  dir.remove();
});

test(
  'a gateway process killed with SIGKILL at random moments and restarted delivers every journaled event exactly once',
  async () => {
    const gateways = ['gw-kill-1', 'gw-kill-2'];
    const events = long ? 20_000 : 1_500;
    const kills = long ? 12 : 3;
    const args = { dir: dir.path, broker: region.broker.url, gateways, events, rate: 1_000, ackTimeoutMs: 2_000 };
    // A later run has fewer passages left to make and may finish before its kill: only real kills count.
    let killed = 0;
    for (let k = 0; k < kills; k++) {
      const child = spawnGateways(args);
      await child.waitFor('ready');
      // Random moments: mid-batch, mid-append, mid-fsync, whatever the dice say.
      await new Promise((r) => setTimeout(r, 100 + Math.random() * 600));
      if (await kill(child, 'SIGKILL')) killed++;
    }
    // The first run has more passages to make than the longest wait allows: it is always killed.
    expect(killed).toBeGreaterThan(0);
    const last = spawnGateways(args);
    await last.waitFor('drained', long ? 300_000 : 60_000);
    expect(await last.exited).toBe(0);

    const journaled = new Set(gateways.flatMap((id) => journaledKeys(dir.path, id)));
    // Each restart after a kill journals an unclean-shutdown fault; all the passages were made.
    expect(journaled.size).toBeGreaterThanOrEqual(gateways.length * (events + killed));
    const { keys, rows } = await storedKeys(region.db.pool);
    expect(rows).toBe(keys.size);
    expect([...journaled].filter((k) => !keys.has(k))).toEqual([]);
    expect([...keys].filter((k) => !journaled.has(k))).toEqual([]);
    const { rows: faults } = await region.db.pool.query(
      "SELECT count(*)::int AS n FROM zg_events WHERE type = 'fault' AND payload->>'fault' = 'unclean-shutdown'",
    );
    expect(faults[0].n).toBe(gateways.length * killed);
  },
  long ? 600_000 : 120_000,
);
