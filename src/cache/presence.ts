/**
 * A blocked Bloom filter over the keys (plate, country) of a list: "definitely not listed" or "maybe".
 * Every key sets K bits inside one 512-bit block (16 words, one cache line pair), so a query touches
 * one block. 9 bits per key: 20 million keys cost about 23 MB and a miss is a false "maybe" for
 * about 1.3 % of the unlisted plates (those then go to SQLite as before).
 *
 * Built by a child process (src/cache/presence-worker.ts), which hands over its words. Never removes
 * a key: a filter is a superset of what was added.
 */
export const BLOCK_BITS = 512;
const BLOCK_WORDS = BLOCK_BITS / 32;
/** Bits set per key. */
export const K = 6;
/** Default bits of filter per expected key. */
export const BITS_PER_KEY = 9;

/** The child process that builds a filter (presence-worker.ts) gets its data file in this variable. */
export const PRESENCE_FILE_ENV = 'ZONEGATE_PRESENCE_FILE';

/** What that process sends back over its IPC channel. */
export type PresenceBuildReply =
  | { readonly ok: true; readonly words: Uint32Array; readonly change: number; readonly added: number }
  | { readonly ok: false; readonly error: string };

function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

export class PresenceFilter {
  readonly words: Uint32Array;
  readonly blocks: number;
  /** Keys added since it was created (repeats included). */
  added = 0;

  private constructor(words: Uint32Array) {
    this.words = words;
    this.blocks = this.words.length / BLOCK_WORDS;
    if (!Number.isInteger(this.blocks) || this.blocks < 1) throw new Error('presence filter: bad size');
  }

  /** An empty filter sized for `expected` keys at `bitsPerKey` bits each. */
  static forKeys(expected: number, bitsPerKey = BITS_PER_KEY): PresenceFilter {
    const blocks = Math.max(1, Math.ceil((Math.max(expected, 1) * bitsPerKey) / BLOCK_BITS));
    return new PresenceFilter(new Uint32Array(blocks * BLOCK_WORDS));
  }

  /** The filter with these words (as built by another process). */
  static fromWords(words: Uint32Array, added = 0): PresenceFilter {
    const f = new PresenceFilter(words);
    f.added = added;
    return f;
  }

  get bytes(): number {
    return this.words.byteLength;
  }

  /** Number of keys it was sized for at the default bits per key. */
  get capacity(): number {
    return Math.floor((this.blocks * BLOCK_BITS) / BITS_PER_KEY);
  }

  add(plate: string, country: string): void {
    this.#probe(plate, country, true);
    this.added++;
  }

  /** False: the key was never added. True: it may have been. */
  mightContain(plate: string, country: string): boolean {
    return this.#probe(plate, country, false);
  }

  #probe(plate: string, country: string, set: boolean): boolean {
    // Two FNV-style 32-bit hashes of plate, a separator and country, finished with murmur3's mix.
    let a = 0x811c9dc5;
    let b = 0x9747b28c;
    for (let i = 0; i < plate.length; i++) {
      const c = plate.charCodeAt(i);
      a = Math.imul(a ^ c, 0x01000193);
      b = Math.imul(b ^ c, 0x5bd1e995);
    }
    a = Math.imul(a ^ 0xff, 0x01000193);
    b = Math.imul(b ^ 0xff, 0x5bd1e995);
    for (let i = 0; i < country.length; i++) {
      const c = country.charCodeAt(i);
      a = Math.imul(a ^ c, 0x01000193);
      b = Math.imul(b ^ c, 0x5bd1e995);
    }
    const h1 = fmix(a);
    const h2 = fmix(b);
    const h3 = fmix(h2 ^ h1 ^ 0x9e3779b9);
    // Block by multiply-high (no modulo bias worth the name), bits from h2 and h3, 9 bits each.
    const base = Math.floor((h1 * this.blocks) / 4294967296) * BLOCK_WORDS;
    const w = this.words;
    let all = true;
    for (let i = 0; i < K; i++) {
      const bit = (i < 3 ? h2 >>> (i * 9) : h3 >>> ((i - 3) * 9)) & (BLOCK_BITS - 1);
      const idx = base + (bit >>> 5);
      const mask = 1 << (bit & 31);
      if (set) w[idx] = w[idx]! | mask;
      else if ((w[idx]! & mask) === 0) {
        all = false;
        break;
      }
    }
    return all;
  }
}
