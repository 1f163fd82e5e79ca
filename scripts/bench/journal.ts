import { join } from 'node:path';
import Database from 'better-sqlite3';
import { openJournal } from '../../src/journal/index.js';
import { systemClock } from '../../src/shared/clock.js';
import { silentLogger } from '../../src/shared/log.js';
import { Registry } from '../../src/shared/metrics.js';
import { percentile, type BenchRow, type BenchSuite } from './types.js';

/** A passage entry the size the pipeline writes (about 600 bytes of JSON); the uplink suite sends the same. */
export function passagePayload(i: number): Record<string, unknown> {
  return {
    passageId: `0f8fad5b-d9cb-469f-a165-70867728${String(i % 10000).padStart(4, '0')}`,
    plateHash: 'a94a8fe5ccb19ba61c4c0873d391e987982fbbd3',
    plateHashKey: '2026-03-02',
    country: 'NL',
    corrected: false,
    confidence: 912,
    reads: 3,
    consistentReads: 3,
    firstSeenAt: 1772438400000 + i,
    lastSeenAt: 1772438400800 + i,
    trigger: 'consistent-reads',
    direction: 'in',
    outcome: 'open',
    reason: 'grant',
    grantId: 'g-000123',
    listVersion: 1234,
    listAgeSeconds: 3600,
    decideUs: 12.5,
    latencyUs: 310,
  };
}

/**
 * Journal append rate under the chosen fsync policy (WAL, synchronous=NORMAL, the WAL fsynced
 * off the event loop every 500 ms), against the same rows committed with synchronous=FULL (an
 * fsync in every append) on the same disk.
 */
export const journalSuite: BenchSuite = {
  name: 'journal',
  async run({ quick, workDir, log }) {
    const n = quick ? 20_000 : 200_000;
    const journal = openJournal({
      file: join(workDir, 'journal.sqlite'),
      gatewayId: 'bench-gw',
      clock: systemClock,
      registry: new Registry(),
      log: silentLogger,
      syncIntervalMs: 500,
    });
    const lat: number[] = [];
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) {
      const a = process.hrtime.bigint();
      journal.append({ type: 'passage', at: Date.now(), lane: 'in-1', payload: passagePayload(i) });
      lat.push(Number(process.hrtime.bigint() - a) / 1000);
      // Let the timer's fsync run now and then, as it does between reads at the roadside.
      if (i % 2_000 === 1_999) await new Promise((r) => setImmediate(r));
    }
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    await journal.flush();
    journal.close();
    const rate = n / seconds;
    log(`journal: ${n} appends in ${seconds.toFixed(2)} s`);

    // Baseline: fsync on every commit.
    const m = quick ? 500 : 3_000;
    const db = new Database(join(workDir, 'full.sqlite'));
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.exec(
      'CREATE TABLE events (seq INTEGER PRIMARY KEY, id TEXT NOT NULL, type TEXT NOT NULL, at INTEGER NOT NULL, lane TEXT, payload TEXT NOT NULL, acked INTEGER NOT NULL DEFAULT 0); CREATE INDEX events_type_at ON events(type, at);',
    );
    const insert = db.prepare('INSERT INTO events (seq, id, type, at, lane, payload) VALUES (?, ?, ?, ?, ?, ?)');
    const fullLat: number[] = [];
    const f0 = process.hrtime.bigint();
    for (let i = 0; i < m; i++) {
      const a = process.hrtime.bigint();
      insert.run(i + 1, `id-${i}`, 'passage', Date.now(), 'in-1', JSON.stringify(passagePayload(i)));
      fullLat.push(Number(process.hrtime.bigint() - a) / 1000);
    }
    const fullRate = m / (Number(process.hrtime.bigint() - f0) / 1e9);
    db.close();

    const evict = await appendAtBudget(workDir, quick);
    log(`journal at its budget: ${evict.evictions} evictions`);

    const rows: BenchRow[] = [
      {
        case: 'append (WAL, async group fsync 500 ms)',
        metric: 'rate',
        value: Math.round(rate),
        unit: 'events/s',
        baseline: Math.round(fullRate),
        baselineName: 'fsync per append',
        target: '>= 5000 events/s',
        meetsTarget: rate >= 5_000,
      },
      {
        case: 'append (WAL, async group fsync 500 ms)',
        metric: 'p50',
        value: percentile(lat, 50),
        unit: 'µs',
        baseline: percentile(fullLat, 50),
        baselineName: 'fsync per append',
      },
      {
        case: 'append (WAL, async group fsync 500 ms)',
        metric: 'p99',
        value: percentile(lat, 99),
        unit: 'µs',
        baseline: percentile(fullLat, 99),
        baselineName: 'fsync per append',
        target: '<= 1000 µs (off the bollard path anyway)',
        meetsTarget: percentile(lat, 99) <= 1_000,
      },
      {
        case: 'append at the disk budget (evicting delivered entries)',
        metric: 'max',
        value: evict.evictingMax,
        unit: 'ms',
        baseline: evict.belowMax,
        baselineName: 'longest append below the budget',
      },
    ];
    return rows;
  },
};

/**
 * The longest append once the journal is at its disk budget (eviction runs inside the append
 * that crosses it), against the longest append before it got there, in one run on one file; the
 * full run uses the default budget (512 MiB). The uplink's acknowledgements are simulated, so
 * eviction frees delivered entries as it does at the roadside; the budget is large enough that
 * 10 % of it exceeds the eviction step.
 */
async function appendAtBudget(
  workDir: string,
  quick: boolean,
): Promise<{ belowMax: number; evictingMax: number; evictions: number }> {
  const maxBytes = (quick ? 64 : 512) * 1024 * 1024;
  const journal = openJournal({
    file: join(workDir, 'budget.sqlite'),
    gatewayId: 'bench-gw',
    clock: systemClock,
    registry: new Registry(),
    log: silentLogger,
    budget: { maxBytes, dropOrder: ['passage'] },
  });
  let belowMax = 0;
  let evictingMax = 0;
  let evictions = 0;
  let purged = 0;
  // Until the budget has been crossed a few times.
  for (let i = 0; evictions < 5; i++) {
    const a = process.hrtime.bigint();
    journal.append({ type: 'passage', at: Date.now(), lane: 'in-1', payload: passagePayload(i) });
    const ms = Number(process.hrtime.bigint() - a) / 1e6;
    if (i % 500 === 499) journal.ack(0, journal.lastSeq!);
    if (i % 2_000 === 1_999) await new Promise((r) => setImmediate(r));
    const purgedNow = journal.stats().purged.passage;
    if (purgedNow > purged) {
      evictions++;
      evictingMax = Math.max(evictingMax, ms);
    } else if (evictions === 0) {
      belowMax = Math.max(belowMax, ms);
    }
    purged = purgedNow;
  }
  journal.close();
  return { belowMax, evictingMax, evictions };
}
