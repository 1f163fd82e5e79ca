import { DateTime } from 'luxon';
import { describe, expect, it } from 'vitest';
import { memoryLookups } from '../../src/cache/memory.js';
import type { Passage } from '../../src/passage/passage.js';
import { decide } from '../../src/policy/decide.js';
import type { Grant, VehicleFacts, ZonePolicy } from '../../src/policy/types.js';
import { parseWindows } from '../../src/policy/windows.js';

/** Local Amsterdam wall-clock time → ms epoch. */
const at = (iso: string): number => {
  const dt = DateTime.fromISO(iso, { zone: 'Europe/Amsterdam' });
  if (!dt.isValid) throw new Error(`bad time ${iso}`);
  return dt.toMillis();
};
const utc = (iso: string): number => DateTime.fromISO(iso, { zone: 'utc' }).toMillis();

const NOW = at('2026-03-02T09:00'); // a Monday
const PUBLISHED = NOW - 3_600_000;

const policy = (over: Partial<ZonePolicy> = {}): ZonePolicy => ({
  zone: 'demo-centrum',
  municipality: '0363',
  lane: 'in-1',
  cameraOnly: false,
  minConfidence: 700,
  windows: [],
  staleList: { maxAgeMs: 48 * 3_600_000, action: 'keep-deciding' },
  ...over,
});

let n = 0;
const grant = (plate: string, over: Partial<Grant> & { w?: string } = {}): Grant => {
  const { w, ...rest } = over;
  const windows = w ? parseWindows(w) : [];
  if (typeof windows === 'string') throw new Error(windows);
  return {
    id: `g${++n}`,
    plate,
    country: 'NL',
    scope: { type: 'zone', zone: 'demo-centrum' },
    kind: 'resident',
    validFrom: at('2025-01-01T00:00'),
    windows,
    listVersion: 7,
    ...rest,
  };
};

const vehicle = (plate: string, category: string): VehicleFacts => ({
  plate,
  country: 'NL',
  category,
  fuels: ['diesel'],
  bodyCodes: [],
  listVersion: 7,
});

const passage = (text: string, over: Partial<Passage> = {}): Passage => ({
  id: 'p1',
  lane: 'in-1',
  text,
  country: 'NL',
  confidence: 900,
  reads: 2,
  consistentReads: 2,
  alternatives: [],
  firstSeenAt: NOW,
  lastSeenAt: NOW,
  trigger: 'consistent-reads',
  ...over,
});

const GRANTS: Grant[] = [
  grant('K285TX', { id: 'resident' }),
  grant('VFT38N', { id: 'supplier', kind: 'supplier', w: 'mon-fri 07:00-11:00' }),
  grant('NT731B', { id: 'night', kind: 'permit', w: 'fri 22:00-02:00' }),
  grant('SB482K', { id: 'sunday-night', kind: 'permit', w: 'sun 23:00-01:00' }),
  grant('DST001', { id: 'dst-morning', kind: 'supplier', w: 'daily 07:00-11:00' }),
  grant('DST002', { id: 'dst-spring-hole', kind: 'permit', w: 'sun 01:30-03:30' }),
  grant('DST003', { id: 'dst-autumn-twice', kind: 'permit', w: 'sun 02:00-02:30' }),
  grant('EXP001', { id: 'expired', kind: 'ontheffing', validUntil: at('2026-03-01T00:00') }),
  grant('FUT001', { id: 'not-yet', kind: 'ontheffing', validFrom: at('2026-04-01T00:00') }),
  grant('EDG001', { id: 'edge', kind: 'ontheffing', validUntil: at('2026-03-02T09:00') }),
  grant('PN682R', { id: 'other-zone', kind: 'permit', scope: { type: 'zone', zone: 'ams-autoluw-centrum' } }),
  grant('X49BFK', { id: 'other-municipality', kind: 'permit', scope: { type: 'municipality', code: '0599' } }),
  grant('MUN001', { id: 'same-municipality', kind: 'permit', scope: { type: 'municipality', code: '0363' } }),
  grant('417HN8', { id: 'national', kind: 'ontheffing', scope: { type: 'national' } }),
  grant('3TZB41', { id: 'emergency', kind: 'emergency', scope: { type: 'national' }, w: 'sat 00:00-00:01' }),
  grant('VAN001', { id: 'vans-only', kind: 'supplier', vehicleCategories: ['N1'] }),
  grant('CAR001', { id: 'vans-only-car', kind: 'supplier', vehicleCategories: ['N1'] }),
  grant('NOF001', { id: 'vans-only-no-facts', kind: 'supplier', vehicleCategories: ['N1'] }),
  grant('K28STX', { id: 'lookalike', kind: 'resident' }),
  grant('6XR419', { id: 'expired-lookalike', kind: 'ontheffing', validUntil: at('2025-01-01T00:00') }),
  grant('MIX001', { id: 'mix-wrong-zone', scope: { type: 'zone', zone: 'elsewhere' } }),
  grant('MIX001', { id: 'mix-outside', kind: 'supplier', w: 'sat 07:00-08:00' }),
];
const VEHICLES = [vehicle('VAN001', 'N1'), vehicle('CAR001', 'M1')];
const lookups = memoryLookups({ grants: GRANTS, vehicles: VEHICLES, version: 7, publishedAt: PUBLISHED });

interface Case {
  readonly name: string;
  readonly plate: string;
  readonly now?: number;
  readonly policy?: Partial<ZonePolicy>;
  readonly passage?: Partial<Passage>;
  readonly outcome: string;
  readonly reason: string;
  readonly grantId?: string;
  readonly corrected?: boolean;
  readonly decidedPlate?: string;
}

const cases: Case[] = [
  {
    name: 'a resident enters at any hour',
    plate: 'K285TX',
    now: at('2026-03-08T03:00'),
    outcome: 'open',
    reason: 'grant',
    grantId: 'resident',
  },
  { name: 'an unknown plate is refused at a bollard', plate: 'ZZ999Z', outcome: 'deny', reason: 'no-grant' },
  {
    name: 'an unknown plate is recorded on a camera-only lane',
    plate: 'ZZ999Z',
    policy: { cameraOnly: true },
    outcome: 'record',
    reason: 'no-grant',
  },
  {
    name: 'a resident passes a camera-only lane',
    plate: 'K285TX',
    policy: { cameraOnly: true },
    outcome: 'open',
    reason: 'grant',
  },
  // supplier window mon-fri 07:00-11:00
  {
    name: 'a supplier one minute before the window is refused',
    plate: 'VFT38N',
    now: at('2026-03-02T06:59:59'),
    outcome: 'deny',
    reason: 'outside-window',
    grantId: 'supplier',
  },
  {
    name: 'a supplier at the opening minute enters',
    plate: 'VFT38N',
    now: at('2026-03-02T07:00'),
    outcome: 'open',
    reason: 'grant',
    grantId: 'supplier',
  },
  {
    name: 'a supplier in the last second of the window enters',
    plate: 'VFT38N',
    now: at('2026-03-02T10:59:59'),
    outcome: 'open',
    reason: 'grant',
  },
  {
    name: 'a supplier at the closing minute is refused',
    plate: 'VFT38N',
    now: at('2026-03-02T11:00'),
    outcome: 'deny',
    reason: 'outside-window',
  },
  {
    name: 'a supplier on Saturday morning is refused',
    plate: 'VFT38N',
    now: at('2026-03-07T08:00'),
    outcome: 'deny',
    reason: 'outside-window',
  },
  // windows past midnight (fri 22:00-02:00)
  {
    name: 'a night window opens on Friday 22:00',
    plate: 'NT731B',
    now: at('2026-03-06T22:00'),
    outcome: 'open',
    reason: 'grant',
  },
  {
    name: 'a night window is still open on Saturday 01:59',
    plate: 'NT731B',
    now: at('2026-03-07T01:59'),
    outcome: 'open',
    reason: 'grant',
  },
  {
    name: 'a night window closes on Saturday 02:00',
    plate: 'NT731B',
    now: at('2026-03-07T02:00'),
    outcome: 'deny',
    reason: 'outside-window',
  },
  {
    name: 'a night window is closed on Friday 21:59',
    plate: 'NT731B',
    now: at('2026-03-06T21:59'),
    outcome: 'deny',
    reason: 'outside-window',
  },
  {
    name: 'a Friday night window is closed on Sunday 01:00',
    plate: 'NT731B',
    now: at('2026-03-08T01:00'),
    outcome: 'deny',
    reason: 'outside-window',
  },
  {
    name: 'a Sunday night window runs into Monday 00:30',
    plate: 'SB482K',
    now: at('2026-03-09T00:30'),
    outcome: 'open',
    reason: 'grant',
  },
  {
    name: 'a Sunday night window is closed on Tuesday 00:30',
    plate: 'SB482K',
    now: at('2026-03-10T00:30'),
    outcome: 'deny',
    reason: 'outside-window',
  },
  // DST: spring forward 2026-03-29 02:00 CET → 03:00 CEST; autumn back 2026-10-25 03:00 CEST → 02:00 CET
  {
    name: 'before spring DST, 09:30 UTC is 10:30 local: inside 07:00-11:00',
    plate: 'DST001',
    now: utc('2026-03-28T09:30'),
    outcome: 'open',
    reason: 'grant',
  },
  {
    name: 'after spring DST, 09:30 UTC is 11:30 local: outside 07:00-11:00',
    plate: 'DST001',
    now: utc('2026-03-29T09:30'),
    outcome: 'deny',
    reason: 'outside-window',
  },
  {
    name: 'after spring DST, 07:00 local (05:00 UTC) opens the window',
    plate: 'DST001',
    now: utc('2026-03-29T05:00'),
    outcome: 'open',
    reason: 'grant',
  },
  {
    name: 'before autumn DST, 09:30 UTC is 11:30 local: outside',
    plate: 'DST001',
    now: utc('2026-10-24T09:30'),
    outcome: 'deny',
    reason: 'outside-window',
  },
  {
    name: 'after autumn DST, 09:30 UTC is 10:30 local: inside',
    plate: 'DST001',
    now: utc('2026-10-25T09:30'),
    outcome: 'open',
    reason: 'grant',
  },
  {
    name: 'after autumn DST, 06:30 UTC is 07:30 local: inside',
    plate: 'DST001',
    now: utc('2026-10-25T06:30'),
    outcome: 'open',
    reason: 'grant',
  },
  {
    name: 'spring night: 01:45 CET is inside 01:30-03:30',
    plate: 'DST002',
    now: utc('2026-03-29T00:45'),
    outcome: 'open',
    reason: 'grant',
  },
  {
    name: 'spring night: the clock jumps to 03:00 CEST, still inside',
    plate: 'DST002',
    now: utc('2026-03-29T01:00'),
    outcome: 'open',
    reason: 'grant',
  },
  {
    name: 'spring night: 03:30 CEST closes the window an hour of real time early',
    plate: 'DST002',
    now: utc('2026-03-29T01:30'),
    outcome: 'deny',
    reason: 'outside-window',
  },
  {
    name: 'autumn night: the first 02:15 (CEST) is inside 02:00-02:30',
    plate: 'DST003',
    now: utc('2026-10-25T00:15'),
    outcome: 'open',
    reason: 'grant',
  },
  {
    name: 'autumn night: the second 02:15 (CET) is inside too',
    plate: 'DST003',
    now: utc('2026-10-25T01:15'),
    outcome: 'open',
    reason: 'grant',
  },
  {
    name: 'autumn night: 02:30 CET is outside',
    plate: 'DST003',
    now: utc('2026-10-25T01:30'),
    outcome: 'deny',
    reason: 'outside-window',
  },
  // validity
  { name: 'an expired ontheffing is refused', plate: 'EXP001', outcome: 'deny', reason: 'expired', grantId: 'expired' },
  {
    name: 'a grant that starts next month is refused',
    plate: 'FUT001',
    outcome: 'deny',
    reason: 'expired',
    grantId: 'not-yet',
  },
  {
    name: 'a grant is valid until the millisecond before its end',
    plate: 'EDG001',
    now: at('2026-03-02T09:00') - 1,
    outcome: 'open',
    reason: 'grant',
  },
  {
    name: 'a grant is not valid at its end instant',
    plate: 'EDG001',
    now: at('2026-03-02T09:00'),
    outcome: 'deny',
    reason: 'expired',
  },
  // scope
  {
    name: 'a permit for another zone does not open this one',
    plate: 'PN682R',
    outcome: 'deny',
    reason: 'wrong-zone',
    grantId: 'other-zone',
  },
  {
    name: 'a permit of another municipality does not open this zone',
    plate: 'X49BFK',
    outcome: 'deny',
    reason: 'wrong-zone',
  },
  {
    name: 'a municipal permit opens every zone of the municipality',
    plate: 'MUN001',
    outcome: 'open',
    reason: 'grant',
  },
  {
    name: 'a national ontheffing opens this zone',
    plate: '417HN8',
    outcome: 'open',
    reason: 'grant',
    grantId: 'national',
  },
  {
    name: 'the refusal names the nearest miss (outside window beats wrong zone)',
    plate: 'MIX001',
    outcome: 'deny',
    reason: 'outside-window',
    grantId: 'mix-outside',
  },
  // emergency
  {
    name: 'an emergency vehicle enters outside any window',
    plate: '3TZB41',
    now: at('2026-03-04T15:00'),
    outcome: 'open',
    reason: 'emergency',
  },
  {
    name: 'an emergency vehicle is recorded nowhere on a camera-only lane',
    plate: '3TZB41',
    policy: { cameraOnly: true },
    outcome: 'open',
    reason: 'emergency',
  },
  // vehicle class
  { name: 'a vans-only grant opens for a van', plate: 'VAN001', outcome: 'open', reason: 'grant' },
  {
    name: 'a vans-only grant does not open for a passenger car',
    plate: 'CAR001',
    outcome: 'deny',
    reason: 'wrong-vehicle-class',
  },
  {
    name: 'a vans-only grant does not open without vehicle data',
    plate: 'NOF001',
    outcome: 'deny',
    reason: 'wrong-vehicle-class',
  },
  // confidence
  {
    name: 'a read below the confidence threshold goes to manual handling',
    plate: 'K285TX',
    passage: { confidence: 699 },
    outcome: 'manual',
    reason: 'low-confidence',
  },
  {
    name: 'a read at the confidence threshold is decided',
    plate: 'K285TX',
    passage: { confidence: 700 },
    outcome: 'open',
    reason: 'grant',
  },
  // OCR corrections
  {
    name: 'a read whose corrections are all unlisted is refused as read',
    plate: 'S2HKV7',
    outcome: 'deny',
    reason: 'no-grant',
  },
  {
    name: 'a correction never makes a violation on a camera-only lane',
    plate: '6XR4I9',
    policy: { cameraOnly: true },
    outcome: 'manual',
    reason: 'ambiguous',
  },
  {
    name: 'a correction that is not admitted keeps a bollard closed',
    plate: '6XR4I9',
    outcome: 'deny',
    reason: 'no-grant',
    corrected: false,
  },
  // zone-wide venstertijden
  {
    name: 'in the zone-wide venstertijden any vehicle enters',
    plate: 'ZZ999Z',
    policy: { windows: parseWindows('mon-sat 07:00-11:00') as never },
    outcome: 'open',
    reason: 'zone-window',
  },
  {
    name: 'outside the zone-wide venstertijden an unknown vehicle is refused',
    plate: 'ZZ999Z',
    now: at('2026-03-02T12:00'),
    policy: { windows: parseWindows('mon-sat 07:00-11:00') as never },
    outcome: 'deny',
    reason: 'no-grant',
  },
];

describe('decide(): grants, windows, scopes and reads', () => {
  for (const c of cases) {
    it(c.name, () => {
      const d = decide(passage(c.plate, c.passage), c.now ?? NOW, lookups, policy(c.policy));
      expect({ outcome: d.outcome, reason: d.reason }).toEqual({ outcome: c.outcome, reason: c.reason });
      if (c.grantId) expect(d.grantId).toBe(c.grantId);
      if (c.corrected !== undefined) expect(d.corrected).toBe(c.corrected);
      expect(d.listVersion).toBe(7);
    });
  }

  it('a misread resident plate opens as the corrected plate when exactly one candidate is listed', () => {
    const only = memoryLookups({ grants: [grant('52HKV7', { id: 'r2' })], version: 3, publishedAt: PUBLISHED });
    const d = decide(passage('S2HKV7'), NOW, only, policy());
    expect(d).toMatchObject({
      outcome: 'open',
      reason: 'grant',
      plate: '52HKV7',
      corrected: true,
      grantId: 'r2',
      listVersion: 3,
    });
  });

  it('a misread that matches two listed plates goes to manual handling, never opens', () => {
    // K2B5TX reads as K285TX (B→8) or K28STX (B→8, 5→S): both are residents here.
    const d = decide(passage('K2B5TX'), NOW, lookups, policy());
    expect(d).toMatchObject({ outcome: 'manual', reason: 'ambiguous', plate: 'K2B5TX', corrected: false });
  });

  it('a read that is itself listed is decided on the read, not on its look-alikes', () => {
    const d = decide(passage('K28STX'), NOW, lookups, policy());
    expect(d).toMatchObject({ outcome: 'open', plate: 'K28STX', corrected: false, grantId: 'lookalike' });
  });
});

describe('decide(): a list older than the site allows', () => {
  const old = memoryLookups({ grants: GRANTS, version: 7, publishedAt: NOW - 49 * 3_600_000 });
  const never = memoryLookups({ grants: GRANTS, version: 0 });
  const stale = (action: ZonePolicy['staleList']['action'], cameraOnly = false): Partial<ZonePolicy> => ({
    staleList: { maxAgeMs: 48 * 3_600_000, action },
    cameraOnly,
  });

  it('keep-deciding still opens for a resident and marks the decision', () => {
    const d = decide(passage('K285TX'), NOW, old, policy(stale('keep-deciding')));
    expect(d).toMatchObject({ outcome: 'open', reason: 'grant', staleList: true });
  });
  it('emergency-only keeps the bollard up for a resident', () => {
    const d = decide(passage('K285TX'), NOW, old, policy(stale('emergency-only')));
    expect(d).toMatchObject({ outcome: 'deny', reason: 'stale-list', staleList: true });
  });
  it('emergency-only still opens for an emergency vehicle', () => {
    const d = decide(passage('3TZB41'), NOW, old, policy(stale('emergency-only')));
    expect(d).toMatchObject({ outcome: 'open', reason: 'emergency' });
  });
  it('emergency-only makes no violation from a stale list on a camera-only lane', () => {
    const d = decide(passage('ZZ999Z'), NOW, old, policy(stale('emergency-only', true)));
    expect(d).toMatchObject({ outcome: 'manual', reason: 'stale-list' });
  });
  it('manual hands a resident to the operator', () => {
    const d = decide(passage('K285TX'), NOW, old, policy(stale('manual')));
    expect(d).toMatchObject({ outcome: 'manual', reason: 'stale-list' });
  });
  it('manual still opens for an emergency vehicle', () => {
    const d = decide(passage('3TZB41'), NOW, old, policy(stale('manual')));
    expect(d).toMatchObject({ outcome: 'open', reason: 'emergency' });
  });
  it('a list that was never published counts as stale', () => {
    const d = decide(passage('K285TX'), NOW, never, policy(stale('emergency-only')));
    expect(d).toMatchObject({ outcome: 'deny', reason: 'stale-list', listVersion: 0 });
  });
  it('a list just within its maximum age is not stale', () => {
    const fresh = memoryLookups({ grants: GRANTS, version: 7, publishedAt: NOW - 48 * 3_600_000 });
    const d = decide(passage('K285TX'), NOW, fresh, policy(stale('manual')));
    expect(d.outcome).toBe('open');
    expect(d.staleList).toBeUndefined();
  });
});
