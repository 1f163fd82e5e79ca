import { spawn } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { repoRoot } from '../helpers/cli.js';
import { journalTestBed } from '../helpers/journal.js';

const bed = journalTestBed('zg-journal-', 'gw-test-1');
const { journal, closeAll } = bed;

const passage = (i: number, lane = 'in-1') =>
  ({ type: 'passage', at: bed.clock.now(), lane, payload: { passageId: `p-${i}`, outcome: 'open' } }) as const;

describe('numbering', () => {
  test('every appended event gets the next sequence number and a unique time-ordered id', () => {
    const j = journal();
    const entries = [1, 2, 3].map((i) => j.append(passage(i)));
    expect(entries.map((e) => e.seq - entries[0]!.seq)).toEqual([0, 1, 2]);
    expect(new Set(entries.map((e) => e.id)).size).toBe(3);
    for (const e of entries) {
      expect(e.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(e.gateway).toBe('gw-test-1');
    }
    // The journal announces itself first, so the region can tell where a journal's numbering starts.
    const first = j.readFrom(0);
    expect(first[0]).toMatchObject({ type: 'system', payload: { event: 'journal-created' } });
    expect(first.slice(1).map((e) => e.payload['passageId'])).toEqual(['p-1', 'p-2', 'p-3']);
  });

  test('sequence numbers continue after a restart', () => {
    const a = journal();
    const last = a.append(passage(1));
    closeAll();
    const b = journal();
    expect(b.stats()).toMatchObject({ lastSeq: last.seq, openedAfterCrash: false });
    expect(b.append(passage(2)).seq).toBe(last.seq + 1);
  });

  test('a new journal (lost SD card) numbers above everything the old one used', () => {
    const a = journal();
    for (let i = 0; i < 50; i++) a.append(passage(i));
    const oldLast = a.stats().lastSeq!;
    closeAll();
    rmSync(join(bed.dir, 'journal.sqlite'));
    rmSync(join(bed.dir, 'journal.sqlite-wal'), { force: true });
    rmSync(join(bed.dir, 'journal.sqlite-shm'), { force: true });
    bed.clock.advance(1);
    const b = journal();
    expect(b.append(passage(0)).seq).toBeGreaterThan(oldLast);
  });

  test('numbering never goes back, even after every entry was purged', () => {
    const a = journal();
    const last = a.append(passage(1));
    a.ack(0, last.seq);
    bed.clock.advance(10_000);
    a.purge({ passage: 1_000, system: 1_000 }, bed.clock.now());
    expect(a.stats().entries).toBe(0);
    closeAll();
    expect(journal().append(passage(2)).seq).toBe(last.seq + 1);
  });

  test('a journal that belongs to another gateway is refused with a message naming both', () => {
    journal();
    closeAll();
    expect(() => journal({ gatewayId: 'gw-other' })).toThrow(/belongs to gateway "gw-test-1", not "gw-other"/);
  });
});

describe('crash safety', () => {
  test('a gateway killed with SIGKILL keeps every event it appended, and the next start reports it', async () => {
    const file = join(bed.dir, 'journal.sqlite');
    const script = join(bed.dir, 'writer.ts');
    writeFileSync(
      script,
      `import { openJournal } from '${repoRoot}src/journal/index.js';
import { systemClock } from '${repoRoot}src/shared/clock.js';
import { silentLogger } from '${repoRoot}src/shared/log.js';
import { Registry } from '${repoRoot}src/shared/metrics.js';
const j = openJournal({ file: ${JSON.stringify(file)}, gatewayId: 'gw-test-1', clock: systemClock, registry: new Registry(), log: silentLogger });
for (let i = 0; i < 500; i++) j.append({ type: 'passage', at: Date.now(), payload: { i } });
process.stdout.write('appended\\n');
setInterval(() => {}, 1000);
`,
    );
    const child = spawn(process.execPath, ['--import', 'tsx', script], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => d.includes('appended') && resolve());
      child.once('exit', (code) => reject(new Error(`writer exited ${code} before appending`)));
    });
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    const j = journal();
    const stats = j.stats();
    expect(stats.openedAfterCrash).toBe(true);
    expect(stats.byType.passage).toBe(500);
    expect(j.latest(1)[0]).toMatchObject({ type: 'fault', payload: { fault: 'unclean-shutdown' } });
  });

  test('only entries that reached the disk are offered for sending', async () => {
    const j = journal({ syncIntervalMs: 60_000 });
    const start = j.stats().durableSeq;
    const e = j.append(passage(1));
    expect(j.readFrom(start + 1, { durableOnly: true })).toEqual([]);
    expect(await j.flush()).toBe(e.seq);
    expect(j.readFrom(start + 1, { durableOnly: true }).map((x) => x.seq)).toContain(e.seq);
  });

  test('the sync timer makes appended entries durable without being asked', async () => {
    const j = journal({ syncIntervalMs: 200 });
    const e = j.append(passage(1));
    bed.clock.advance(200);
    await j.flush(); // waits for the timer's fsync already under way
    expect(j.stats().durableSeq).toBe(e.seq);
  });
});

describe('outbox reading and acknowledgement', () => {
  test('acknowledged ranges shrink the backlog, also when they arrive out of order', () => {
    const j = journal();
    const base = j.stats().lastSeq!; // the journal-created entry
    j.ack(base, base);
    const seqs = Array.from({ length: 10 }, (_, i) => j.append(passage(i)).seq);
    expect(j.stats().backlog).toBe(10);
    expect(j.ack(seqs[5]!, seqs[9]!)).toBe(5);
    expect(j.stats()).toMatchObject({ backlog: 5, ackedThrough: base });
    expect(j.firstUnacked()).toBe(seqs[0]);
    expect(j.readFrom(seqs[0]!, { unackedOnly: true }).map((e) => e.seq)).toEqual(seqs.slice(0, 5));
    expect(j.ack(seqs[0]!, seqs[4]!)).toBe(5);
    expect(j.stats()).toMatchObject({ backlog: 0, ackedThrough: seqs[9] });
    expect(j.firstUnacked()).toBeUndefined();
    // Acknowledging again (a re-sent batch) changes nothing.
    expect(j.ack(seqs[0]!, seqs[9]!)).toBe(0);
  });

  test('acknowledgements and the backlog survive a restart', () => {
    const a = journal();
    const seqs = Array.from({ length: 4 }, (_, i) => a.append(passage(i)).seq);
    a.ack(0, seqs[1]!);
    closeAll();
    const b = journal();
    expect(b.stats().backlog).toBe(2);
    expect(b.firstUnacked()).toBe(seqs[2]);
  });

  test('reads are bounded by count and by size, and never split an entry', () => {
    const j = journal();
    for (let i = 0; i < 20; i++) j.append({ type: 'passage', at: bed.clock.now(), payload: { pad: 'x'.repeat(1000) } });
    const from = j.stats().firstSeq!;
    expect(j.readFrom(from, { limit: 7 })).toHaveLength(7);
    const bySize = j.readFrom(from, { maxBytes: 5_000 });
    expect(bySize.length).toBeGreaterThanOrEqual(3);
    expect(bySize.length).toBeLessThanOrEqual(5);
    expect(j.readFrom(from, { maxBytes: 10 })).toHaveLength(1);
  });

  test('the status page gets the newest entries and counts by type', () => {
    const j = journal();
    j.append(passage(1));
    j.append({ type: 'fault', at: bed.clock.now(), payload: { fault: 'serial-lost' } });
    j.append(passage(2));
    expect(j.latest(2).map((e) => e.type)).toEqual(['passage', 'fault']);
    expect(j.latest(5, { type: 'passage' }).map((e) => e.payload['passageId'])).toEqual(['p-2', 'p-1']);
    expect(j.stats().byType).toMatchObject({ passage: 2, fault: 1, system: 1, violation: 0 });
  });

  test('listeners hear every append as it happens', () => {
    const j = journal();
    const heard: number[] = [];
    const off = j.onAppend((e) => heard.push(e.seq));
    const a = j.append(passage(1));
    off();
    j.append(passage(2));
    expect(heard).toEqual([a.seq]);
  });
});
