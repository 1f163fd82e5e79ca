import { expect, test } from 'vitest';
import { createRetentionPurger } from '../../src/journal/index.js';
import { silentLogger } from '../../src/shared/log.js';
import { journalTestBed } from '../helpers/journal.js';

const bed = journalTestBed('zg-journal-budget-', 'gw-budget');
const { journal, closeAll } = bed;

const BUDGET = 400 * 1024;
const dropOrder = ['system', 'list', 'passage', 'bollard', 'violation', 'fault'] as const;
const pad = 'x'.repeat(400);

async function metric(name: string, labels: Record<string, string>): Promise<number> {
  const m = (await bed.registry.getMetricsAsJSON()).find((x) => x.name === name);
  const v = m?.values.find((x) => Object.entries(labels).every(([k, val]) => x.labels[k] === val));
  return Number(v?.value ?? 0);
}

test('over its disk budget the journal drops undelivered passages first, keeps violations and faults, and reports the gap', async () => {
  const j = journal({ budget: { maxBytes: BUDGET, dropOrder } });
  let violations = 0;
  let faults = 0;
  for (let i = 0; i < 3_000; i++) {
    bed.clock.advance(1_000);
    if (i % 10 === 0) {
      j.append({ type: 'violation', at: bed.clock.now(), lane: 'in-1', payload: { plate: 'AB123C', pad } });
      violations++;
    } else if (i % 25 === 1) {
      j.append({ type: 'fault', at: bed.clock.now(), payload: { fault: 'serial-lost', pad } });
      faults++;
    } else {
      j.append({ type: 'passage', at: bed.clock.now(), lane: 'in-1', payload: { outcome: 'open', pad } });
    }
  }
  const stats = j.stats();
  expect(stats.bytes).toBeLessThanOrEqual(BUDGET * 1.1);
  expect(stats.byType.violation).toBe(violations);
  expect(stats.byType.fault).toBe(faults);
  expect(stats.dropped.passage).toBeGreaterThan(1_000);
  expect(stats.dropped.violation + stats.dropped.fault).toBe(0);
  // Every dropped entry is accounted for: in stats, in the metric and in gap events that go upstream.
  const gaps = j.latest(10_000, { type: 'gap' });
  expect(gaps.length).toBeGreaterThan(0);
  const reported = gaps.reduce((n, g) => n + Number((g.payload['dropped'] as Record<string, number>)['passage']), 0);
  expect(reported).toBe(stats.dropped.passage);
  expect(await metric('zonegate_journal_dropped_total', { type: 'passage', reason: 'disk-budget' })).toBe(
    stats.dropped.passage,
  );
  // Oldest passages went first: the newest passage is still there.
  expect(j.latest(1, { type: 'passage' })[0]!.at).toBe(bed.clock.now() - (bed.clock.now() % 1000));
  // Gap events name the seq ranges that will never arrive, and those seqs are really gone.
  const [from, to] = (gaps[gaps.length - 1]!.payload['ranges'] as [number, number][])[0]!;
  expect(j.readFrom(from, { limit: 1 })[0]!.seq).toBeGreaterThan(to);
  // The backlog counts what is still there to send.
  expect(stats.backlog).toBe(stats.entries);
});

test('when the budget is tight, delivered entries make room before anything undelivered is dropped', () => {
  const j = journal({ budget: { maxBytes: BUDGET, dropOrder } });
  for (let i = 0; i < 500; i++) {
    bed.clock.advance(1_000);
    j.append({ type: 'passage', at: bed.clock.now(), payload: { pad } });
  }
  expect(j.stats().dropped.passage).toBe(0);
  j.ack(0, j.stats().lastSeq!);
  for (let i = 0; i < 500; i++) {
    bed.clock.advance(1_000);
    j.append({ type: 'passage', at: bed.clock.now(), payload: { pad } });
  }
  const stats = j.stats();
  expect(stats.dropped.passage).toBe(0);
  expect(stats.purged.passage).toBeGreaterThan(0);
  expect(stats.backlog).toBe(500);
  expect(j.latest(10, { type: 'gap' })).toEqual([]);
});

test('the drop counters and gap accounting survive a restart', () => {
  const a = journal({ budget: { maxBytes: BUDGET, dropOrder } });
  for (let i = 0; i < 2_000; i++) a.append({ type: 'passage', at: bed.clock.now(), payload: { pad } });
  const dropped = a.stats().dropped.passage;
  expect(dropped).toBeGreaterThan(0);
  closeAll();
  expect(journal({ budget: { maxBytes: BUDGET, dropOrder } }).stats().dropped.passage).toBe(dropped);
});

test('the retention purge removes delivered entries older than their type allows and keeps undelivered ones', async () => {
  const j = journal();
  const day = 86_400_000;
  const old = [
    j.append({ type: 'passage', at: bed.clock.now(), payload: { n: 1 } }),
    j.append({ type: 'violation', at: bed.clock.now(), payload: { plate: 'AB123C' } }),
    j.append({ type: 'fault', at: bed.clock.now(), payload: { fault: 'x' } }),
  ];
  const undelivered = j.append({ type: 'passage', at: bed.clock.now(), payload: { n: 2 } });
  j.ack(0, old[2]!.seq);
  bed.clock.advance(3 * day);
  const fresh = j.append({ type: 'passage', at: bed.clock.now(), payload: { n: 3 } });
  j.ack(fresh.seq, fresh.seq);

  const purger = createRetentionPurger({
    journal: j,
    retention: { passage: 2 * day, violation: 28 * day, fault: 90 * day, system: 1 * day },
    clock: bed.clock,
    log: silentLogger,
    intervalMs: day,
  });
  await purger.start();
  const left = new Set(j.readFrom(0, { limit: 100 }).map((e) => e.seq));
  expect(left.has(old[0]!.seq)).toBe(false); // delivered passage older than 2 days
  expect(left.has(old[1]!.seq)).toBe(true); // violation kept 28 days
  expect(left.has(old[2]!.seq)).toBe(true);
  expect(left.has(undelivered.seq)).toBe(true); // not yet at the region: kept
  expect(left.has(fresh.seq)).toBe(true);
  expect(j.stats().purged.passage).toBe(1);

  // The schedule runs it again: the violation goes after its 28 days.
  bed.clock.advance(26 * day);
  await purger.runOnce();
  expect(j.readFrom(0, { limit: 100 }).some((e) => e.seq === old[1]!.seq)).toBe(false);
  await purger.stop();
});

test('a large purge proceeds in slices and removes everything due', async () => {
  const j = journal();
  for (let i = 0; i < 5_000; i++) j.append({ type: 'passage', at: bed.clock.now(), payload: { i } });
  j.ack(0, j.stats().lastSeq!);
  bed.clock.advance(10_000);
  const purger = createRetentionPurger({
    journal: j,
    retention: { passage: 1_000 },
    clock: bed.clock,
    log: silentLogger,
  });
  const deleted = await purger.runOnce();
  expect(deleted.passage).toBe(5_000);
  expect(j.stats().byType.passage).toBe(0);
});
