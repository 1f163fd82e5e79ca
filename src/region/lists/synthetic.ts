import { ISSUED_LETTERS, SIDECODES } from '../../plate/sidecodes.js';
import { localDateStart } from '../../policy/local-time.js';
import type { Grant, GrantKind, GrantScope, TimeWindow, VehicleFacts } from '../../policy/types.js';
import { seededRandom } from '../../shared/random.js';

/**
 * Realistic synthetic lists of any size for tests and benchmarks: Dutch plates of every sidecode,
 * RDW-like vehicle facts and a mix of grants (residents, suppliers with venstertijden, national
 * ontheffingen, emergency vehicles, grants for other zones). Deterministic for a seed, and produced in
 * key order without holding the list in memory, so a 20-million-plate list streams straight into
 * SQLite's B-tree (appending in order is what makes bulk loading fast).
 */
export interface SyntheticOptions {
  /** Distinct plates (each has vehicle facts when `vehicles` is true). */
  readonly plates: number;
  readonly seed?: number;
  /** Share of plates with a grant (0–1). Default 1: every plate has one. */
  readonly grantShare?: number;
  /** Emit vehicle facts for every plate. Default true. */
  readonly vehicles?: boolean;
  /** The zone most grants are for; others go to other zones, the municipality or national scope. */
  readonly zone?: string;
  readonly municipality?: string;
}

export interface SyntheticEntry {
  readonly plate: string;
  readonly country: string;
  readonly grants: readonly Grant[];
  readonly vehicle?: VehicleFacts;
}

const LETTERS = [...ISSUED_LETTERS].sort();
const DIGITS = '0123456789'.split('');

interface Pattern {
  readonly alphabets: readonly (readonly string[])[];
  readonly size: number;
}

const PATTERNS: Pattern[] = SIDECODES.map((s) => {
  const alphabets = s.pattern
    .replace(/-/g, '')
    .split('')
    .map((c) => (c === 'L' ? LETTERS : DIGITS));
  return { alphabets, size: alphabets.reduce((n, a) => n * a.length, 1) };
});
/** How common each sidecode is in the synthetic fleet (newer series carry most vehicles). */
const WEIGHTS = [1, 1, 1, 2, 3, 4, 8, 8, 9, 9, 8, 6, 2, 1];

/** Plate of a pattern at index i (mixed radix, most significant first: index order = text order). */
function plateAt(p: Pattern, i: number): string {
  const chars = new Array<string>(p.alphabets.length);
  for (let k = p.alphabets.length - 1; k >= 0; k--) {
    const a = p.alphabets[k]!;
    chars[k] = a[i % a.length]!;
    i = Math.floor(i / a.length);
  }
  return chars.join('');
}

/** Ascending random indexes, `n` of `size`, chosen with random gaps: O(n), no set of seen values. */
function* ascending(n: number, size: number, rnd: () => number): Generator<number> {
  let pos = -1;
  for (let left = n; left > 0; left--) {
    const room = size - 1 - pos - left; // slack that must remain for the others
    const gap = Math.floor(rnd() * ((2 * room) / left + 1));
    pos += 1 + Math.min(gap, room);
    yield pos;
  }
}

/** Every plate, ascending by text: a k-way merge of one ascending stream per sidecode. */
export function* syntheticPlates(count: number, seed = 1): Generator<string> {
  const wsum = WEIGHTS.reduce((a, b) => a + b, 0);
  let assigned = 0;
  const counts = PATTERNS.map((p, i) => {
    const c = i === PATTERNS.length - 1 ? count - assigned : Math.round((count * WEIGHTS[i]!) / wsum);
    assigned += c;
    if (c > p.size * 0.8) throw new Error(`synthetic list of ${count} plates is too large for sidecode ${i + 1}`);
    return c;
  });
  const streams = PATTERNS.map((p, i) => {
    const it = ascending(counts[i]!, p.size, seededRandom(seed * 31 + i));
    return { p, it };
  });
  const heads: { plate: string; s: number }[] = [];
  const advance = (s: number): void => {
    const n = streams[s]!.it.next();
    if (!n.done) heads.push({ plate: plateAt(streams[s]!.p, n.value), s });
  };
  for (let s = 0; s < streams.length; s++) advance(s);
  while (heads.length > 0) {
    let min = 0;
    for (let k = 1; k < heads.length; k++) if (heads[k]!.plate < heads[min]!.plate) min = k;
    const h = heads[min]!;
    heads.splice(min, 1);
    yield h.plate;
    advance(h.s);
  }
}

const OTHER_ZONES = ['ams-autoluw-centrum', 'utr-binnenstad', 'rdam-ze-centrum', 'dh-ze-centrum'];
const SUPPLIER_WINDOWS: TimeWindow[][] = [
  [{ days: [1, 2, 3, 4, 5], fromMinute: 420, untilMinute: 660 }],
  [{ days: [1, 2, 3, 4, 5, 6], fromMinute: 360, untilMinute: 690 }],
  [{ days: [5, 6], fromMinute: 1320, untilMinute: 120 }],
];
const Y2015 = localDateStart('2015-01-01')!;
const Y2025 = localDateStart('2025-01-01')!;
const YEAR = 365.25 * 86_400_000;

/** The synthetic list, in key order: one entry per plate with its grants and vehicle facts. */
export function* syntheticList(options: SyntheticOptions): Generator<SyntheticEntry> {
  const seed = options.seed ?? 1;
  const rnd = seededRandom(seed ^ 0x9e3779b9);
  const zone = options.zone ?? 'demo-centrum';
  const municipality = options.municipality ?? '0363';
  const grantShare = options.grantShare ?? 1;
  const withVehicles = options.vehicles ?? true;
  let n = 0;
  for (const plate of syntheticPlates(options.plates, seed)) {
    n++;
    const grants: Grant[] = [];
    if (rnd() < grantShare) {
      const r = rnd();
      let kind: GrantKind = 'resident';
      let scope: GrantScope = { type: 'zone', zone };
      let windows: readonly TimeWindow[] = [];
      if (r < 0.4) kind = 'resident';
      else if (r < 0.6) {
        kind = 'supplier';
        windows = SUPPLIER_WINDOWS[Math.floor(rnd() * SUPPLIER_WINDOWS.length)]!;
      } else if (r < 0.7) {
        kind = 'ontheffing';
        scope = { type: 'national' };
      } else if (r < 0.8) {
        kind = 'permit';
        scope = { type: 'municipality', code: municipality };
      } else if (r < 0.81) {
        kind = 'emergency';
        scope = { type: 'national' };
      } else if (r < 0.86) kind = 'care';
      else scope = { type: 'zone', zone: OTHER_ZONES[Math.floor(rnd() * OTHER_ZONES.length)]! };
      const validFrom = Y2015 + Math.floor(rnd() * 10 * YEAR);
      const expires = rnd() < 0.6;
      grants.push({
        id: `s${n.toString(36)}`,
        plate,
        country: 'NL',
        scope,
        kind,
        validFrom,
        ...(expires ? { validUntil: validFrom + Math.floor((1 + rnd() * 4) * YEAR) } : {}),
        windows,
        ...(kind === 'supplier' && rnd() < 0.3 ? { vehicleCategories: ['N1', 'N2'] } : {}),
        ...(rnd() < 0.5 ? { sourceRef: `ref-${n}` } : {}),
        listVersion: 1,
      });
    }
    let vehicle: VehicleFacts | undefined;
    if (withVehicles) {
      const c = rnd();
      const category = c < 0.8 ? 'M1' : c < 0.94 ? 'N1' : c < 0.97 ? 'N2' : 'N3';
      const f = rnd();
      const fuels =
        f < 0.55 ? ['benzine'] : f < 0.8 ? ['diesel'] : f < 0.92 ? ['elektriciteit'] : ['benzine', 'elektriciteit'];
      const det = Y2025 - Math.floor(rnd() * 45 * YEAR);
      const age = (Y2025 - det) / YEAR;
      const ev = fuels.length === 1 && fuels[0] === 'elektriciteit';
      vehicle = {
        plate,
        country: 'NL',
        category,
        fuels,
        ...(ev ? {} : { emissionClass: age < 9 ? 6 : age < 14 ? 5 : age < 19 ? 4 : age < 24 ? 3 : 2 }),
        firstAdmission: det,
        maxMass:
          category === 'M1'
            ? 1200 + Math.floor(rnd() * 1300)
            : category === 'N1'
              ? 2000 + Math.floor(rnd() * 1500)
              : category === 'N2'
                ? 3600 + Math.floor(rnd() * 8000)
                : 12_500 + Math.floor(rnd() * 27_500),
        bodyCodes: rnd() < 0.01 ? ['SH'] : [],
        ...(category === 'N3' && rnd() < 0.4
          ? { bodyType: 'opleggertrekker' }
          : category !== 'M1'
            ? { bodyType: 'gesloten opbouw' }
            : {}),
        listVersion: 1,
      };
    }
    yield { plate, country: 'NL', grants, ...(vehicle ? { vehicle } : {}) };
  }
}

/** Plates that are (almost certainly) not in a synthetic list of the same seed: for misses. */
export function* absentPlates(count: number, seed = 1): Generator<string> {
  const rnd = seededRandom(seed * 7919 + 17);
  for (let i = 0; i < count; i++) {
    const p = PATTERNS[Math.floor(rnd() * PATTERNS.length)]!;
    // Letters outside the issued set (A, E …) never occur in synthetic plates.
    const text = plateAt(p, Math.floor(rnd() * p.size));
    yield text.replace(/[A-Z]/, 'A');
  }
}
