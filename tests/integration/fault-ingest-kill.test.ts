import { afterAll, expect, test } from 'vitest';
import { systemClock } from '../../src/shared/clock.js';
import { journaledKeys, kill, spawnIngest, type Child } from '../helpers/fault.js';
import { storedKeys } from '../helpers/postgres.js';
import { regionTestBed } from '../helpers/region-bed.js';
import { tempDir } from '../helpers/tmp.js';
import { startTestGateway, waitFor } from '../helpers/uplink.js';

const region = regionTestBed();
const dir = tempDir('zg-fault-ingest-');
const children: Child[] = [];

afterAll(async () => {
  for (const c of children) await kill(c, 'SIGTERM');
  dir.remove();
});

test('an ingest killed after its commit but before the acknowledgement: the batch is stored once and acknowledged after restart', async () => {
  const crashing = spawnIngest({
    pg: region.db.url,
    broker: region.broker.url,
    instance: 'ingest-crash',
    env: { ZONEGATE_FAULT: 'ingest-exit-after-commit:3' },
  });
  children.push(crashing);
  await crashing.waitFor('ingest: consuming');
  const gw = await startTestGateway({
    id: 'gw-ingest-fault',
    dir: dir.path,
    brokerUrl: region.broker.url,
    clock: systemClock,
    settings: { batchMaxEvents: 100, ackTimeoutMs: 2_000 },
  });
  for (let i = 0; i < 1_000; i++) gw.journal.append({ type: 'passage', at: Date.now(), payload: { i } });
  expect(await crashing.exited).toBe(null); // killed by its own fault hook, SIGKILL
  expect(crashing.proc.signalCode).toBe('SIGKILL');

  // Three batches committed, the third never acknowledged: the gateway still holds it.
  const committed = await storedKeys(region.db.pool);
  expect(committed.keys.size).toBe(300);
  expect(gw.journal.backlog).toBeGreaterThan(1_000 - 300);

  // No acknowledgement within the ack timeout while no ingest runs: the gateway resends on its own
  // (whether the broker also redelivers to the restarted ingest depends on timing; both must end stored once).
  await waitFor(() => gw.uplink.stats().resends > 0, 20_000, 'the gateway to resend the unacknowledged batch');
  const restarted = spawnIngest({ pg: region.db.url, broker: region.broker.url, instance: 'ingest-crash' });
  children.push(restarted);
  await restarted.waitFor('ingest: consuming');
  await waitFor(() => gw.journal.backlog === 0, 60_000, 'backlog to drain');
  await gw.stop();

  const journaled = new Set(journaledKeys(dir.path, 'gw-ingest-fault'));
  const { keys, rows } = await storedKeys(region.db.pool);
  expect(rows).toBe(keys.size);
  expect([...journaled].filter((k) => !keys.has(k))).toEqual([]);
  expect([...keys].filter((k) => !journaled.has(k))).toEqual([]);
  expect(gw.uplink.stats().resends).toBeGreaterThan(0);
}, 90_000);
