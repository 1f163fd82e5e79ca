import { describe, expect, it } from 'vitest';
import { BITS_PER_KEY, PresenceFilter } from '../../src/cache/presence.js';
import { seededRandom } from '../../src/shared/random.js';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

function randomPlates(n: number, seed: number): string[] {
  const rnd = seededRandom(seed);
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    let p = '';
    const len = 4 + Math.floor(rnd() * 5);
    for (let k = 0; k < len; k++) p += ALPHABET[Math.floor(rnd() * ALPHABET.length)];
    out.push(p);
  }
  return out;
}

describe('PresenceFilter (blocked Bloom filter over plate + country)', () => {
  it('never answers "absent" for a key it holds', () => {
    const plates = randomPlates(50_000, 1);
    const f = PresenceFilter.forKeys(plates.length);
    for (const p of plates) f.add(p, 'NL');
    for (const p of plates) expect(f.mightContain(p, 'NL')).toBe(true);
    expect(f.added).toBe(plates.length);
  });

  it('has a false-positive rate near its design value at the expected number of keys', () => {
    const n = 100_000;
    const f = PresenceFilter.forKeys(n);
    const held = new Set(randomPlates(n, 2));
    for (const p of held) f.add(p, 'NL');
    let fp = 0;
    let tried = 0;
    for (const p of randomPlates(200_000, 3)) {
      if (held.has(p)) continue;
      tried++;
      if (f.mightContain(p, 'NL')) fp++;
    }
    const rate = fp / tried;
    // 9 bits per key, 6 bits set in one 512-bit block: about 1.5 %.
    expect(rate).toBeLessThan(0.025);
    expect(rate).toBeGreaterThan(0.003);
    expect(f.bytes).toBeLessThanOrEqual(Math.ceil((n * BITS_PER_KEY) / 8) + 64);
  });

  it('tells countries apart and survives being rebuilt from its words', () => {
    const plates = randomPlates(20_000, 4);
    const f = PresenceFilter.forKeys(plates.length);
    for (const p of plates) f.add(p, 'NL');
    let foreign = 0;
    for (const p of plates) if (f.mightContain(p, 'DE')) foreign++;
    expect(foreign / plates.length).toBeLessThan(0.03);
    const copy = PresenceFilter.fromWords(f.words.slice(), f.added);
    for (const p of plates) expect(copy.mightContain(p, 'NL')).toBe(true);
    expect(copy.blocks).toBe(f.blocks);
  });

  it('an empty filter holds nothing and a tiny one still works', () => {
    const f = PresenceFilter.forKeys(0);
    expect(f.blocks).toBe(1);
    expect(f.mightContain('AB123C', 'NL')).toBe(false);
    f.add('AB123C', 'NL');
    expect(f.mightContain('AB123C', 'NL')).toBe(true);
  });
});
