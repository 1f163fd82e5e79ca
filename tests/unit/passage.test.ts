import { describe, expect, test } from 'vitest';
import { PassageGrouper } from '../../src/passage/index.js';
import type { PlateRead } from '../../src/sources/plate-read.js';

let n = 0;
const ids = (): string => `p${++n}`;
const read = (text: string, at: number, extra: Partial<PlateRead> = {}): PlateRead => ({
  sourceId: 'cam-1',
  lane: 'in-1',
  text,
  country: 'NL',
  confidence: 900,
  receivedAt: at,
  ...extra,
});

describe('passage grouping', () => {
  test('three reads of one vehicle within the window become one passage, decided at the second consistent read', () => {
    const g = new PassageGrouper({ windowMs: 1000, minReads: 2, holdOffMs: 5000 }, ids);
    expect(g.push(read('96LKH9', 0))).toEqual([]);
    const [p] = g.push(read('96LKH9', 400));
    expect(p).toMatchObject({ text: '96LKH9', reads: 2, consistentReads: 2, trigger: 'consistent-reads' });
    expect(g.push(read('96LKH9', 800))).toEqual([]);
  });

  test('a misread (6 as G) joins the same passage; the majority text wins', () => {
    const g = new PassageGrouper({ windowMs: 1000, minReads: 3, holdOffMs: 0 }, ids);
    g.push(read('9GLKH9', 0, { confidence: 990 }));
    g.push(read('96LKH9', 100, { confidence: 700 }));
    const [p] = g.push(read('96LKH9', 200, { confidence: 800 })).concat(g.expire(5000));
    expect(p).toMatchObject({
      text: '96LKH9',
      reads: 3,
      consistentReads: 2,
      confidence: 800,
      trigger: 'window-closed',
    });
    expect(p!.alternatives).toEqual([{ text: '9GLKH9', count: 1 }]);
  });

  test('a vehicle seen fewer than N times is still decided when its window closes', () => {
    const g = new PassageGrouper({ windowMs: 1000, minReads: 3, holdOffMs: 0 }, ids);
    g.push(read('GB1234', 0));
    expect(g.expire(1000)).toEqual([]);
    expect(g.expire(1001)).toMatchObject([{ text: 'GB1234', reads: 1, trigger: 'window-closed' }]);
  });

  test('the same plate opens again only after the hold-off', () => {
    const g = new PassageGrouper({ windowMs: 1000, minReads: 1, holdOffMs: 10_000 }, ids);
    expect(g.push(read('GB1234', 0))).toHaveLength(1);
    expect(g.push(read('GB1234', 3000))).toEqual([]); // window closed, hold-off running: absorbed
    expect(g.push(read('GB1234', 9000))).toEqual([]);
    expect(g.push(read('GB1234', 20_000))).toHaveLength(1);
  });

  test('reads keep a stuck vehicle in one passage as long as they keep coming', () => {
    const g = new PassageGrouper({ windowMs: 1000, minReads: 1, holdOffMs: 2000 }, ids);
    let released = 0;
    for (let t = 0; t <= 60_000; t += 500) released += g.push(read('GB1234', t)).length;
    expect(released).toBe(1);
  });

  test('two vehicles in one lane, and one plate in two lanes, are separate passages', () => {
    const g = new PassageGrouper({ windowMs: 1000, minReads: 1, holdOffMs: 0 }, ids);
    const a = g.push(read('GB1234', 0));
    const b = g.push(read('96LKH9', 10));
    const c = g.push(read('GB1234', 20, { lane: 'in-2' }));
    expect([a, b, c].map((x) => x.length)).toEqual([1, 1, 1]);
    expect(new Set([a[0]!.id, b[0]!.id, c[0]!.id]).size).toBe(3);
  });

  test('the next deadline tells the caller when to call expire', () => {
    const g = new PassageGrouper({ windowMs: 1000, minReads: 2, holdOffMs: 0 }, ids);
    expect(g.nextDeadline()).toBeUndefined();
    g.push(read('GB1234', 100));
    expect(g.nextDeadline()).toBe(1101);
    expect(g.expire(1101)).toHaveLength(1);
    expect(g.openGroups).toBe(0);
  });
});
