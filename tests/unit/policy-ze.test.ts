import { DateTime } from 'luxon';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { memoryLookups } from '../../src/cache/memory.js';
import { ConfigError, loadSiteConfig, parseSiteConfig } from '../../src/config/load.js';
import type { Passage } from '../../src/passage/passage.js';
import { decide } from '../../src/policy/decide.js';
import type { Grant, VehicleFacts } from '../../src/policy/types.js';
import { loadZeRules } from '../../src/policy/ze-rules.js';
import { zonePolicyFor } from '../../src/policy/zone-policy.js';
import { repoRoot } from '../helpers/cli.js';

const at = (iso: string): number => {
  const dt = DateTime.fromISO(iso, { zone: 'Europe/Amsterdam' });
  if (!dt.isValid) throw new Error(`bad time ${iso}`);
  return dt.toMillis();
};
const det = (d: string): number => at(`${d}T00:00`);

const site = loadSiteConfig(join(repoRoot, 'firmware-config/sites/rdam-ze-camera.yaml'));
const policy = zonePolicyFor(site, 'in-1');

type V = Partial<VehicleFacts> & { plate: string };
const v = (over: V): VehicleFacts => ({ country: 'NL', fuels: ['diesel'], bodyCodes: [], listVersion: 3, ...over });

const VEHICLES: VehicleFacts[] = [
  v({ plate: 'VAN004', category: 'N1', emissionClass: 4, firstAdmission: det('2008-05-01'), maxMass: 2800 }),
  v({ plate: 'VAN04B', category: 'N1', emissionClass: 4, firstAdmission: det('2008-05-01'), maxMass: 2800 }),
  v({ plate: 'VAN005', category: 'N1', emissionClass: 5, firstAdmission: det('2015-02-01'), maxMass: 2800 }),
  v({ plate: 'VAN006', category: 'N1', emissionClass: 6, firstAdmission: det('2024-12-31'), maxMass: 3500 }),
  v({ plate: 'VAN625', category: 'N1', emissionClass: 6, firstAdmission: det('2025-01-01'), maxMass: 3500 }),
  v({ plate: 'VANEV1', category: 'N1', fuels: ['elektriciteit'], firstAdmission: det('2023-01-01') }),
  v({
    plate: 'VANPHV',
    category: 'N1',
    fuels: ['diesel', 'elektriciteit'],
    emissionClass: 6,
    firstAdmission: det('2025-02-01'),
  }),
  v({ plate: 'VANOLD', category: 'N1', firstAdmission: det('1985-03-10') }),
  v({ plate: 'VANRST', category: 'N1', emissionClass: 4, firstAdmission: det('2009-01-01'), bodyCodes: ['SH'] }),
  v({ plate: 'VANB70', category: 'N1', emissionClass: 3, firstAdmission: det('2004-01-01'), bodyCodes: ['B70'] }),
  v({ plate: 'CAR003', category: 'M1', emissionClass: 3, firstAdmission: det('2003-01-01') }),
  v({ plate: 'TRK16R', category: 'N3', emissionClass: 6, firstAdmission: det('2016-12-31'), bodyType: 'bakwagen' }),
  v({ plate: 'TRK17R', category: 'N3', emissionClass: 6, firstAdmission: det('2017-01-01'), bodyType: 'bakwagen' }),
  v({ plate: 'TRK19R', category: 'N2', emissionClass: 6, firstAdmission: det('2019-12-31'), bodyType: 'bakwagen' }),
  v({ plate: 'TRK20R', category: 'N2', emissionClass: 6, firstAdmission: det('2020-01-01'), bodyType: 'bakwagen' }),
  v({
    plate: 'TRK17T',
    category: 'N3',
    emissionClass: 6,
    firstAdmission: det('2017-01-01'),
    bodyType: 'opleggertrekker',
  }),
  v({
    plate: 'TRK16T',
    category: 'N3',
    emissionClass: 6,
    firstAdmission: det('2016-12-31'),
    bodyType: 'opleggertrekker',
  }),
  v({ plate: 'TRK18U', category: 'N3', emissionClass: 6, firstAdmission: det('2018-06-01') }),
  v({ plate: 'TRK21U', category: 'N3', emissionClass: 6, firstAdmission: det('2021-06-01') }),
  v({ plate: 'TRK25R', category: 'N3', emissionClass: 6, firstAdmission: det('2025-01-01'), bodyType: 'bakwagen' }),
  v({ plate: 'TRK5XX', category: 'N3', emissionClass: 5, firstAdmission: det('2013-01-01'), bodyType: 'bakwagen' }),
  v({ plate: 'TRKSPC', category: 'N3', emissionClass: 6, firstAdmission: det('2015-05-01'), bodyCodes: ['15'] }),
  v({ plate: 'VANNOD', category: 'N1', emissionClass: 6 }),
  v({ plate: 'EXPVAN', category: 'N1', emissionClass: 4, firstAdmission: det('2008-01-01') }),
];
const grant = (plate: string, over: Partial<Grant>): Grant => ({
  id: `g-${plate}`,
  plate,
  country: 'NL',
  scope: { type: 'national' },
  kind: 'ontheffing',
  validFrom: at('2025-01-01T00:00'),
  windows: [],
  listVersion: 3,
  ...over,
});
const GRANTS: Grant[] = [
  grant('WX1234', { country: 'DE', id: 'foreign-ontheffing' }),
  grant('VAN004', { id: 'day-ontheffing', validFrom: at('2025-03-03T00:00'), validUntil: at('2025-03-04T00:00') }),
  grant('EXPVAN', { id: 'expired-ontheffing', validUntil: at('2025-02-01T00:00') }),
];
const lookups = memoryLookups({ grants: GRANTS, vehicles: VEHICLES, version: 3, publishedAt: at('2025-01-01T00:00') });

const passage = (text: string, country = 'NL'): Passage => ({
  id: 'p',
  lane: 'in-1',
  text,
  country,
  confidence: 950,
  reads: 1,
  consistentReads: 1,
  alternatives: [],
  firstSeenAt: 0,
  lastSeenAt: 0,
  trigger: 'consistent-reads',
});

// [name, plate, local time, outcome, reason, rule]
type Row = [string, string, string, string, string, string?];
const M = '23:59:59';
const rows: Row[] = [
  [
    'before the zone is in force a Euro 4 van passes',
    'VAN004',
    `2024-12-31T${M}`,
    'open',
    'not-in-scope',
    'ze-nl-2025:not-in-force',
  ],
  [
    'from 1 January 2025 a Euro 4 van is recorded',
    'VAN04B',
    '2025-01-01T00:00',
    'record',
    'ze-not-admitted',
    'ze-nl-2025:van-not-admitted',
  ],
  [
    'a passenger car is not subject to the ZE rules',
    'CAR003',
    '2026-06-01T12:00',
    'open',
    'not-in-scope',
    'ze-nl-2025:not-in-scope',
  ],
  [
    'an electric van is zero-emission',
    'VANEV1',
    '2031-01-01T12:00',
    'open',
    'vehicle-exempt',
    'ze-nl-2025:zero-emission',
  ],
  [
    'a plug-in hybrid van first admitted in 2025 is not zero-emission',
    'VANPHV',
    '2025-06-01T12:00',
    'record',
    'ze-not-admitted',
  ],
  [
    'a Euro 5 van passes on the last second of 2026',
    'VAN005',
    `2026-12-31T${M}`,
    'open',
    'vehicle-exempt',
    'ze-nl-2025:van-euro5',
  ],
  [
    'a Euro 5 van is recorded from 1 January 2027',
    'VAN005',
    '2027-01-01T00:00',
    'record',
    'ze-not-admitted',
    'ze-nl-2025:van-euro5-ended',
  ],
  [
    'a Euro 6 van admitted 31-12-2024 passes until the end of 2027',
    'VAN006',
    `2027-12-31T${M}`,
    'open',
    'vehicle-exempt',
    'ze-nl-2025:van-euro6',
  ],
  [
    'a Euro 6 van is recorded from 1 January 2028',
    'VAN006',
    '2028-01-01T00:00',
    'record',
    'ze-not-admitted',
    'ze-nl-2025:van-euro6-ended',
  ],
  [
    'a Euro 6 van first admitted on 1 January 2025 is not in the transition',
    'VAN625',
    '2025-01-02T12:00',
    'record',
    'ze-not-admitted',
    'ze-nl-2025:van-not-admitted',
  ],
  ['a van turning 40 the next day is not yet an oldtimer', 'VANOLD', `2025-03-09T${M}`, 'record', 'ze-not-admitted'],
  [
    'a van is an oldtimer from its 40th anniversary',
    'VANOLD',
    '2025-03-10T00:00',
    'open',
    'vehicle-exempt',
    'ze-nl-2025:oldtimer',
  ],
  [
    'a wheelchair-accessible van (carrosseriecode SH) is exempt',
    'VANRST',
    '2026-01-01T12:00',
    'open',
    'vehicle-exempt',
    'ze-nl-2025:wheelchair-accessible',
  ],
  [
    'a van with bijzonderheidscode 70 is exempt',
    'VANB70',
    '2026-01-01T12:00',
    'open',
    'vehicle-exempt',
    'ze-nl-2025:wheelchair-accessible',
  ],
  [
    'a Euro VI rigid truck admitted 31-12-2016 has no transition',
    'TRK16R',
    '2025-01-01T00:00',
    'record',
    'ze-not-admitted',
    'ze-nl-2025:truck-not-admitted',
  ],
  [
    'a Euro VI rigid truck admitted 1-1-2017 passes until the end of 2027',
    'TRK17R',
    `2027-12-31T${M}`,
    'open',
    'vehicle-exempt',
    'ze-nl-2025:rigid-euro6-det2017',
  ],
  [
    'a Euro VI rigid truck admitted 1-1-2017 is recorded from 2028',
    'TRK17R',
    '2028-01-01T00:00',
    'record',
    'ze-not-admitted',
    'ze-nl-2025:rigid-euro6-det2017-ended',
  ],
  [
    'a Euro VI rigid truck admitted 31-12-2019 is recorded from 2028',
    'TRK19R',
    '2028-01-01T00:00',
    'record',
    'ze-not-admitted',
  ],
  [
    'a Euro VI rigid truck admitted 1-1-2020 passes until the end of 2029',
    'TRK20R',
    `2029-12-31T${M}`,
    'open',
    'vehicle-exempt',
    'ze-nl-2025:truck-euro6-det2020',
  ],
  [
    'a Euro VI rigid truck admitted 1-1-2020 is recorded from 2030',
    'TRK20R',
    '2030-01-01T00:00',
    'record',
    'ze-not-admitted',
    'ze-nl-2025:truck-euro6-det2020-ended',
  ],
  [
    'a Euro VI tractor admitted 1-1-2017 passes in 2029',
    'TRK17T',
    `2029-12-31T${M}`,
    'open',
    'vehicle-exempt',
    'ze-nl-2025:tractor-euro6-det2017',
  ],
  [
    'a Euro VI tractor admitted 1-1-2017 is recorded from 2030',
    'TRK17T',
    '2030-01-01T00:00',
    'record',
    'ze-not-admitted',
  ],
  [
    'a Euro VI tractor admitted 31-12-2016 has no transition',
    'TRK16T',
    '2025-06-01T12:00',
    'record',
    'ze-not-admitted',
  ],
  [
    'a truck of 2018 without body type passes while tractor and rigid rules agree',
    'TRK18U',
    `2027-12-31T${M}`,
    'open',
    'vehicle-exempt',
  ],
  [
    'a truck of 2018 without body type goes to manual once the rules differ',
    'TRK18U',
    '2028-01-01T00:00',
    'manual',
    'no-vehicle-data',
    'ze-nl-2025:unknown-body-type',
  ],
  [
    'a truck of 2021 without body type passes until 2030 either way',
    'TRK21U',
    '2029-06-01T12:00',
    'open',
    'vehicle-exempt',
  ],
  ['a new Euro VI truck admitted in 2025 is recorded', 'TRK25R', '2025-02-01T12:00', 'record', 'ze-not-admitted'],
  ['a Euro V truck is recorded', 'TRK5XX', '2025-02-01T12:00', 'record', 'ze-not-admitted'],
  [
    'a special-purpose truck younger than 13 years is exempt',
    'TRKSPC',
    `2028-04-30T${M}`,
    'open',
    'vehicle-exempt',
    'ze-nl-2025:special-purpose-truck',
  ],
  [
    'a special-purpose truck is no longer exempt at 13 years',
    'TRKSPC',
    '2028-05-01T00:00',
    'record',
    'ze-not-admitted',
  ],
  [
    'a Euro 6 van without first-admission date goes to manual',
    'VANNOD',
    '2026-01-01T12:00',
    'manual',
    'no-vehicle-data',
  ],
  ['a day ontheffing admits a Euro 4 van on its day', 'VAN004', '2025-03-03T10:00', 'open', 'grant'],
  [
    'the day after its day ontheffing a Euro 4 van is recorded, naming the ontheffing',
    'VAN004',
    '2025-03-04T10:00',
    'record',
    'expired',
  ],
  ['an expired ontheffing is named when a van is recorded', 'EXPVAN', '2025-06-01T12:00', 'record', 'expired'],
  [
    'a Dutch plate without RDW data is not a violation: manual',
    'ZZ999Z',
    '2025-06-01T12:00',
    'manual',
    'no-vehicle-data',
    'ze-nl-2025:unknown-vehicle',
  ],
];

describe('ZE-zone rules (firmware-config/ze-rules/ze-nl-2025.yaml) on a camera-only entrance', () => {
  it.each(rows)('%s', (_name, plate, time, outcome, reason, rule) => {
    const d = decide(passage(plate), at(time), lookups, policy);
    expect({ outcome: d.outcome, reason: d.reason }).toEqual({ outcome, reason });
    if (rule) expect(d.rule).toBe(rule);
    expect(d.ruleVersion).toBe('2025.1');
    expect(d.listVersion).toBe(3);
  });

  it('a foreign vehicle without a grant is recorded: there is no vehicle data to admit it', () => {
    const d = decide(passage('AB123CD', 'FR'), at('2025-06-01T12:00'), lookups, policy);
    expect(d).toMatchObject({ outcome: 'record', reason: 'no-vehicle-data', rule: 'ze-nl-2025:foreign-vehicle' });
  });

  it('a foreign vehicle with an explicit grant passes', () => {
    const d = decide(passage('WX1234', 'DE'), at('2025-06-01T12:00'), lookups, policy);
    expect(d).toMatchObject({ outcome: 'open', reason: 'grant', grantId: 'foreign-ontheffing' });
  });

  it('a ZE entrance with a bollard keeps it up instead of recording', () => {
    const bollard = { ...policy, cameraOnly: false };
    expect(decide(passage('VAN004'), at('2025-06-01T12:00'), lookups, bollard).outcome).toBe('deny');
  });

  it("a zone that starts later than the rule set admits everyone until the zone's own start", () => {
    const later = zonePolicyFor(
      { ...site, policy: { ...site.policy, zeroEmission: { rules: 'ze-nl-2025', inForceFrom: '2026-01-01' } } },
      'in-1',
    );
    expect(decide(passage('VAN004'), at(`2025-12-31T${M}`), lookups, later).outcome).toBe('open');
    expect(decide(passage('VAN004'), at('2026-01-01T00:00'), lookups, later).outcome).toBe('record');
  });
});

describe('ZE rule files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'zg-ze-'));

  it('the shipped rule set loads and names its version', () => {
    const r = loadZeRules('ze-nl-2025');
    expect(r.version).toBe('2025.1');
    expect(r.transitions.map((t) => t.id)).toContain('van-euro6');
  });

  it('a rule that names an unknown vehicle class is refused with the file and the key path', () => {
    writeFileSync(
      join(dir, 'broken.yaml'),
      [
        'id: broken',
        "version: '1'",
        "inForceFrom: '2025-01-01'",
        'zeroEmissionFuels: [elektriciteit]',
        'classes: [{ id: van, categories: [N1] }]',
        "transitions: [{ id: t1, classes: [lorry], emissionClasses: [6], until: '2028-13-01' }]",
      ].join('\n'),
    );
    let err: unknown;
    try {
      loadZeRules('broken', dir);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).message).toContain(join(dir, 'broken.yaml'));
    expect((err as ConfigError).message).toContain('transitions.0.until: "2028-13-01" is not a calendar date');
  });

  it('a rule file that is not valid YAML is refused with the file, line and column of the mistake', () => {
    writeFileSync(
      join(dir, 'typo.yaml'),
      [
        'id: typo',
        'version: 2025.1 besluit: 2024-11',
        "inForceFrom: '2025-01-01'",
        'zeroEmissionFuels: [elektriciteit]',
        'classes: [{ id: van, categories: [N1] }]',
      ].join('\n'),
    );
    let err: unknown;
    try {
      loadZeRules('typo', dir);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).message).toContain(join(dir, 'typo.yaml'));
    expect((err as ConfigError).problems).toEqual([
      expect.stringMatching(/^line 2, column \d+: Nested mappings are not allowed/),
    ]);
  });

  it('a site naming a rule set that does not exist fails at start-up with the key to fix', () => {
    const text = `gateway: { id: gw-1, site: test, municipality: '0363', zone: z-1 }
lanes: [{ id: in-1 }]
sources: [{ id: cam-1, kind: simulated, lane: in-1, simulate: { plates: [AB12CD] } }]
policy: { zeroEmission: { rules: ze-nl-2099 } }`;
    const s = parseSiteConfig(text, 'site.yaml');
    expect(() => zonePolicyFor(s, 'in-1')).toThrow(/no ZE rule set "ze-nl-2099" \(policy.zeroEmission.rules\)/);
  });
});
