import { randomFillSync } from 'node:crypto';

const POOL_SIZE = 16 * 256;
const pool = Buffer.alloc(POOL_SIZE);
let poolOffset = POOL_SIZE;
const HEX: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/**
 * A UUIDv7 (RFC 9562): 48 bits of ms time, then random bits. Time-ordered ids keep any index on
 * them append-mostly; the randomness (74 bits) keeps them unique across gateways and journals.
 * Random bytes come from a pool so an append does not pay for a getrandom() call.
 */
export function uuidv7(ms: number): string {
  if (poolOffset + 16 > POOL_SIZE) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  const r = pool.subarray(poolOffset, poolOffset + 16);
  poolOffset += 16;
  const t = Math.max(0, Math.floor(ms));
  const hi = Math.floor(t / 0x1000000); // upper 24 of 48 bits
  const lo = t % 0x1000000;
  const b = [
    (hi >>> 16) & 0xff,
    (hi >>> 8) & 0xff,
    hi & 0xff,
    (lo >>> 16) & 0xff,
    (lo >>> 8) & 0xff,
    lo & 0xff,
    0x70 | (r[6]! & 0x0f),
    r[7]!,
    0x80 | (r[8]! & 0x3f),
    r[9]!,
    r[10]!,
    r[11]!,
    r[12]!,
    r[13]!,
    r[14]!,
    r[15]!,
  ];
  let s = '';
  for (let i = 0; i < 16; i++) {
    if (i === 4 || i === 6 || i === 8 || i === 10) s += '-';
    s += HEX[b[i]!]!;
  }
  return s;
}
