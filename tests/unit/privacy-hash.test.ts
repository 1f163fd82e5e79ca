import { expect, test } from 'vitest';
import { createPlateHasher, hashPeriod, pseudonymisePassages } from '../../src/journal/privacy.js';

const secret = Buffer.alloc(32, 7);
const ams = (iso: string): number => Date.parse(iso);

test('one vehicle has one hash within a day and another the next Amsterdam day', () => {
  const h = createPlateHasher({ secret, rotation: 'daily' });
  const morning = h.hash('AB123C', 'NL', ams('2026-03-28T07:00:00+01:00'));
  const evening = h.hash('AB123C', 'NL', ams('2026-03-28T23:59:59+01:00'));
  const nextDay = h.hash('AB123C', 'NL', ams('2026-03-29T00:00:00+01:00'));
  expect(evening).toEqual(morning);
  expect(nextDay.hash).not.toBe(morning.hash);
  expect([morning.keyId, nextDay.keyId]).toEqual(['2026-03-28', '2026-03-29']);
  expect(morning.hash).toMatch(/^[0-9a-f]{40}$/); // fits iotsignals kentekenHash (max 40)
});

test('the day boundary follows Amsterdam local time across the DST change, not UTC', () => {
  // 2026-03-29 is the spring-forward day: local midnight is 23:00 UTC the evening before.
  expect(hashPeriod(Date.UTC(2026, 2, 28, 22, 59, 59), 'daily')).toBe('2026-03-28');
  expect(hashPeriod(Date.UTC(2026, 2, 28, 23, 0, 0), 'daily')).toBe('2026-03-29');
  expect(hashPeriod(Date.UTC(2026, 2, 29, 22, 0, 0), 'daily')).toBe('2026-03-30'); // CEST: +2
});

test('weekly rotation uses ISO weeks and monthly rotation calendar months', () => {
  expect(hashPeriod(ams('2026-01-01T12:00:00+01:00'), 'weekly')).toBe('2026-W01');
  expect(hashPeriod(ams('2027-01-01T12:00:00+01:00'), 'weekly')).toBe('2026-W53');
  expect(hashPeriod(ams('2026-10-31T23:30:00+01:00'), 'monthly')).toBe('2026-10');
  const h = createPlateHasher({ secret, rotation: 'weekly' });
  expect(h.hash('AB123C', 'NL', ams('2026-03-23T08:00:00+01:00'))).toEqual(
    h.hash('AB123C', 'NL', ams('2026-03-29T20:00:00+02:00')),
  );
});

test('a hash cannot be reproduced without the zone secret, and plates and countries are told apart', () => {
  const at = ams('2026-03-02T08:00:00+01:00');
  const a = createPlateHasher({ secret, rotation: 'daily' }).hash('AB123C', 'NL', at).hash;
  const b = createPlateHasher({ secret: Buffer.alloc(32, 8), rotation: 'daily' }).hash('AB123C', 'NL', at).hash;
  const c = createPlateHasher({ secret, rotation: 'daily' }).hash('AB123C', 'DE', at).hash;
  const d = createPlateHasher({ secret, rotation: 'daily' }).hash('AB123D', 'NL', at).hash;
  expect(new Set([a, b, c, d]).size).toBe(4);
  expect(() => createPlateHasher({ secret: Buffer.alloc(8), rotation: 'daily' })).toThrow(/at least 16 bytes/);
});

test('an allowed passage keeps the keyed hash instead of plate, display, raw read and image; a violation keeps its evidence', () => {
  const seal = pseudonymisePassages(createPlateHasher({ secret, rotation: 'daily' }));
  const at = ams('2026-03-02T08:00:00+01:00');
  const payload = {
    passageId: 'p1',
    plate: 'AB123C',
    country: 'NL',
    display: 'AB-123-C',
    readText: 'AB123C',
    imageRef: 'captures/x.jpg',
    confidence: 900,
    outcome: 'open',
    reason: 'grant',
    listVersion: 3,
  };
  const passage = seal({ type: 'passage', at, lane: 'in-1', payload });
  expect(passage.payload).toEqual({
    passageId: 'p1',
    country: 'NL',
    confidence: 900,
    outcome: 'open',
    reason: 'grant',
    listVersion: 3,
    plateHash: createPlateHasher({ secret, rotation: 'daily' }).hash('AB123C', 'NL', at).hash,
    plateHashKey: '2026-03-02',
  });
  const violation = seal({ type: 'violation', at, lane: 'in-1', payload: { ...payload, outcome: 'record' } });
  expect(violation.payload).toMatchObject({ plate: 'AB123C', display: 'AB-123-C', imageRef: 'captures/x.jpg' });
  const fault = { type: 'fault', at, payload: { fault: 'serial-lost' } } as const;
  expect(seal(fault)).toBe(fault);
});
