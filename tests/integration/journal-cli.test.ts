import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { openJournal, type Journal } from '../../src/journal/index.js';
import { systemClock } from '../../src/shared/clock.js';
import { silentLogger } from '../../src/shared/log.js';
import { Registry } from '../../src/shared/metrics.js';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

const dir = tempDir('zg-journal-cli-');
const file = join(dir.path, 'journal.sqlite');
let journal: Journal;

beforeAll(() => {
  journal = openJournal({ file, gatewayId: 'gw-cli', clock: systemClock, registry: new Registry(), log: silentLogger });
  for (let i = 0; i < 5; i++) journal.append({ type: 'passage', at: Date.now(), lane: 'in-1', payload: { i } });
  journal.append({ type: 'fault', at: Date.now(), payload: { fault: 'serial-lost' } });
  journal.ack(0, journal.stats().firstSeq! + 2);
});
afterAll(() => {
  journal.close();
  dir.remove();
});

test('a technician sees counts and the backlog of a running gateway without disturbing it', async () => {
  const r = await runCli(['journal', 'stats', '--db', file, '--json']);
  expect(r.code).toBe(0);
  expect(JSON.parse(r.stdout)).toMatchObject({
    gateway: 'gw-cli',
    entries: 7,
    byType: { passage: 5, fault: 1, system: 1 },
    backlog: 4,
    openOrUnclean: true,
  });
  // The running gateway's journal goes on numbering as before.
  const before = journal.lastSeq!;
  expect(journal.append({ type: 'passage', at: Date.now(), payload: {} }).seq).toBe(before + 1);
});

test('tail prints the newest events of a type as JSON lines, oldest first; a wrong type is a usage error', async () => {
  const r = await runCli(['journal', 'tail', '--db', file, '-n', '2', '--type', 'passage']);
  expect(r.code).toBe(0);
  const lines = r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { seq: number; type: string });
  expect(lines).toHaveLength(2);
  expect(lines.every((l) => l.type === 'passage')).toBe(true);
  expect(lines[0]!.seq).toBeLessThan(lines[1]!.seq);
  const bad = await runCli(['journal', 'tail', '--db', file, '--type', 'passages']);
  expect(bad.code).toBe(2);
  expect(bad.stderr).toContain('--type: "passages" is not one of passage, violation');
});

test('a file that is not a journal is a usage error naming it, without a stack trace', async () => {
  const lists = join(dir.path, 'lists.sqlite');
  const other = new Database(lists);
  other.exec('CREATE TABLE grants (plate TEXT)');
  other.close();
  const garbage = join(dir.path, 'garbage.sqlite');
  writeFileSync(garbage, 'not a database at all\n'.repeat(100));
  const [a, b] = await Promise.all([
    runCli(['journal', 'stats', '--db', lists]),
    runCli(['journal', 'tail', '--db', garbage]),
  ]);
  expect([a.code, b.code]).toEqual([2, 2]);
  expect(a.stderr).toContain(`${lists}: not a zonegate journal`);
  expect(b.stderr).toContain(`${garbage}: not a zonegate journal`);
  expect(a.stderr + b.stderr).not.toContain('    at ');
});
