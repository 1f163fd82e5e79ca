import { readFileSync, statSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { privacySchema } from '../../src/config/schema.js';
import {
  createRetentionPurger,
  openJournal,
  privacySealFromConfig,
  retentionFromConfig,
} from '../../src/journal/index.js';
import { ManualClock } from '../../src/shared/clock.js';
import { silentLogger } from '../../src/shared/log.js';
import { Registry } from '../../src/shared/metrics.js';
import { tempDir } from '../helpers/tmp.js';

let dir: { path: string; remove: () => void };
beforeEach(() => {
  dir = tempDir('zg-privacy-');
});
afterEach(() => dir.remove());

const site = () => ({ dataDir: dir.path, privacy: privacySchema.parse({}) });

function pipelinePayload(plate: string, outcome: string) {
  return { passageId: 'p', plate, country: 'NL', display: plate, readText: plate, outcome, reason: 'grant' };
}

test('the plate of an allowed passage never reaches the journal file; a violation keeps its plate for enforcement', async () => {
  const clock = new ManualClock();
  const journal = openJournal({
    file: join(dir.path, 'journal.sqlite'),
    gatewayId: 'gw-privacy',
    clock,
    registry: new Registry(),
    log: silentLogger,
    seal: privacySealFromConfig(site()),
  });
  const allowed = journal.append({
    type: 'passage',
    at: clock.now(),
    lane: 'in-1',
    payload: pipelinePayload('PRIV01', 'open'),
  });
  journal.append({ type: 'passage', at: clock.now(), lane: 'in-1', payload: pipelinePayload('PRIV02', 'deny') });
  journal.append({ type: 'violation', at: clock.now(), lane: 'in-1', payload: pipelinePayload('VIOL03', 'record') });
  expect(allowed.payload['plate']).toBeUndefined();
  expect(allowed.payload['plateHash']).toMatch(/^[0-9a-f]{40}$/);
  await journal.flush();
  const bytes = () =>
    ['journal.sqlite', 'journal.sqlite-wal']
      .filter((f) => existsSync(join(dir.path, f)))
      .map((f) => readFileSync(join(dir.path, f)).toString('latin1'))
      .join('');
  expect(bytes()).not.toContain('PRIV01');
  expect(bytes()).not.toContain('PRIV02');
  expect(bytes()).toContain('VIOL03');
  journal.close();
  expect(bytes()).not.toContain('PRIV01');
});

test('the plate-hash secret is created once, readable only by its owner, and reused so hashes stay comparable', () => {
  const a = privacySealFromConfig(site());
  const file = join(dir.path, 'keys/plate-hash.secret');
  expect(statSync(file).mode & 0o777).toBe(0o600);
  const b = privacySealFromConfig(site());
  const entry = { type: 'passage', at: Date.UTC(2026, 0, 5), payload: { plate: 'AB123C', country: 'NL' } } as const;
  expect(a(entry).payload['plateHash']).toBe(b(entry).payload['plateHash']);
});

test("the site's retention days are enforced: delivered passages go after 7 days, violations after 28", async () => {
  const clock = new ManualClock();
  const journal = openJournal({
    file: join(dir.path, 'journal.sqlite'),
    gatewayId: 'gw-retention',
    clock,
    registry: new Registry(),
    log: silentLogger,
  });
  const p = journal.append({ type: 'passage', at: clock.now(), payload: { n: 1 } });
  const v = journal.append({ type: 'violation', at: clock.now(), payload: { plate: 'AB123C' } });
  journal.ack(0, v.seq);
  const purger = createRetentionPurger({
    journal,
    retention: retentionFromConfig(privacySchema.parse({})),
    clock,
    log: silentLogger,
    intervalMs: 3_600_000,
  });
  const present = () => new Set(journal.readFrom(0).map((e) => e.seq));
  clock.advance(7 * 86_400_000 - 60_000);
  await purger.runOnce();
  expect(present().has(p.seq)).toBe(true);
  clock.advance(120_000);
  await purger.runOnce();
  expect(present().has(p.seq)).toBe(false);
  expect(present().has(v.seq)).toBe(true);
  clock.advance(21 * 86_400_000);
  await purger.runOnce();
  expect(present().has(v.seq)).toBe(false);
  journal.close();
});

test("a purged violation's plate is erased from the journal file, not only hidden from its queries", async () => {
  const clock = new ManualClock();
  const file = join(dir.path, 'journal.sqlite');
  const journal = openJournal({ file, gatewayId: 'gw-erase', clock, registry: new Registry(), log: silentLogger });
  for (let i = 0; i < 40; i++) {
    const plate = `ER${String(i).padStart(2, '0')}ASE`;
    journal.append({
      type: 'violation',
      at: clock.now(),
      payload: { plate, display: plate, evidence: 'e'.repeat(300) },
    });
  }
  journal.ack(0, journal.lastSeq!);
  clock.advance(29 * 86_400_000);
  const deleted = journal.purge(retentionFromConfig(privacySchema.parse({})), clock.now());
  expect(deleted.deleted.violation).toBe(40);
  journal.close();
  const bytes = ['journal.sqlite', 'journal.sqlite-wal']
    .filter((f) => existsSync(join(dir.path, f)))
    .map((f) => readFileSync(join(dir.path, f)).toString('latin1'))
    .join('');
  expect(bytes.match(/ER\d\dASE/g) ?? []).toEqual([]);
});

test('a gateway without an uplink still enforces retention: its never-delivered violations go after their 28 days', async () => {
  const clock = new ManualClock();
  const journal = openJournal({
    file: join(dir.path, 'journal.sqlite'),
    gatewayId: 'gw-isolated',
    clock,
    registry: new Registry(),
    log: silentLogger,
  });
  const v = journal.append({ type: 'violation', at: clock.now(), payload: { plate: 'AB123C' } });
  const purger = createRetentionPurger({
    journal,
    retention: retentionFromConfig(privacySchema.parse({})),
    clock,
    log: silentLogger,
    undelivered: 'expire',
  });
  clock.advance(28 * 86_400_000 - 60_000);
  await purger.runOnce();
  expect(journal.readFrom(0).some((e) => e.seq === v.seq)).toBe(true);
  clock.advance(120_000);
  await purger.runOnce();
  expect(journal.readFrom(0).some((e) => e.seq === v.seq)).toBe(false);
  const stats = journal.stats();
  expect(stats.purged.violation).toBe(1);
  // What is gone is no longer counted as waiting for the region.
  expect(stats.backlog).toBe(stats.entries);
  journal.close();
});
