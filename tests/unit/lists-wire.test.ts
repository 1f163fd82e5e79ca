import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { generateRegionKeys, signBody, verifyBody, keyIdOf } from '../../src/sync/lists-signing.js';
import {
  decodeChunk,
  encodeChunk,
  frame,
  grantTupleSchema,
  isGrantTuple,
  isVehicleTuple,
  unframe,
  vehicleTupleSchema,
  type ChunkRow,
} from '../../src/sync/lists-wire.js';
import { createPrivateKey, createPublicKey } from 'node:crypto';

const junk = fc.oneof(fc.constant(null), fc.string(), fc.integer(), fc.double(), fc.boolean(), fc.constant(undefined));
const or = <T>(good: fc.Arbitrary<T>) => fc.oneof({ arbitrary: good, weight: 4 }, { arbitrary: junk, weight: 1 });
const plate = fc.stringMatching(/^[A-Z0-9]{1,13}$/);
const text = (max: number) => fc.oneof(fc.string({ maxLength: max + 2 }), fc.constant(null));
const instant = fc.oneof(fc.integer({ min: -5, max: 2_000_000_000_000 }), fc.constant(8.64e15 + 1), fc.double());

const grantish = fc.tuple(
  or(plate),
  or(fc.constantFrom('NL', 'DE', 'nl', 'NLD')),
  or(fc.stringMatching(/^[\w.:/ -]{0,66}$/)),
  or(fc.constantFrom('national', 'zone:demo-centrum', 'municipality:0363', 'zone:', 'region:x')),
  or(fc.constantFrom('resident', 'emergency', 'supplier', 'lorry')),
  or(instant),
  or(fc.oneof(instant, fc.constant(null))),
  or(fc.constantFrom(null, 'mon-fri 07:00-11:00', 'daily 00:00-24:00', 'mon 25:00-26:00', '')),
  or(text(100)),
  or(text(200)),
);
const vehicleish = fc.tuple(
  or(plate),
  or(fc.constantFrom('NL', 'be', 'B')),
  or(text(8)),
  or(text(200)),
  or(fc.oneof(fc.integer({ min: -1, max: 10 }), fc.constant(null))),
  or(fc.oneof(instant, fc.constant(null), fc.constant(-1e12))),
  or(fc.oneof(fc.integer({ min: 0, max: 1_000_001 }), fc.constant(null))),
  or(text(200)),
  or(text(100)),
);

describe('snapshot rows are checked exactly as the zod schemas say', () => {
  it('grant rows: the written-out check agrees with grantTupleSchema', () => {
    fc.assert(
      fc.property(grantish, fc.boolean(), (t, extra) => {
        const row: unknown[] = extra ? [...t, 'x'] : [...t];
        expect(isGrantTuple(row)).toBe(grantTupleSchema.safeParse(row).success);
      }),
      { numRuns: 5000 },
    );
  });

  it('vehicle rows: the written-out check agrees with vehicleTupleSchema', () => {
    fc.assert(
      fc.property(vehicleish, fc.boolean(), (t, short) => {
        const row: unknown[] = short ? t.slice(0, 8) : [...t];
        expect(isVehicleTuple(row)).toBe(vehicleTupleSchema.safeParse(row).success);
      }),
      { numRuns: 5000 },
    );
  });

  it('a chunk with a bad row names the row and what is wrong with it', () => {
    const rows: ChunkRow[] = [
      ['g', 'AB12CD', 'NL', 'g1', 'national', 'resident', 0, null, null, null, null],
      ['g', 'AB12CE', 'NL', 'g2', 'galaxy', 'resident', 0, null, null, null, null] as unknown as ChunkRow,
    ];
    const r = decodeChunk(encodeChunk(rows), 4);
    expect(r).toEqual({ error: 'row 2: grant 3: a scope (national, municipality:NNNN, zone:ID)' });
  });

  it('a good chunk decodes to stored records carrying the list version', () => {
    const r = decodeChunk(
      encodeChunk([
        ['g', 'AB12CD', 'NL', 'g1', 'zone:demo-centrum', 'supplier', 5, 9, 'mon-fri 07:00-11:00', 'N1', 'ref'],
        ['v', 'AB12CD', 'NL', 'N1', 'diesel', 6, 100, 3500, null, null],
      ]),
      4,
    );
    expect(r).toEqual({
      grants: [['AB12CD', 'NL', 'g1', 'zone:demo-centrum', 'supplier', 5, 9, 'mon-fri 07:00-11:00', 'N1', 'ref', 4]],
      vehicles: [['AB12CD', 'NL', 'N1', 'diesel', 6, 100, 3500, null, null, 4]],
    });
  });
});

describe('framing and Ed25519 signatures', () => {
  const k = generateRegionKeys();
  const priv = createPrivateKey(k.privatePem);
  const keys = new Map([[keyIdOf(priv), createPublicKey(k.publicPem)]]);

  it('a frame is a JSON header line and the body bytes', () => {
    const f = unframe(frame({ v: 1, type: 'x' }, Buffer.from([0, 10, 255])));
    expect(f).toEqual({ header: { v: 1, type: 'x' }, body: Buffer.from([0, 10, 255]) });
    expect(unframe(Buffer.from('no newline'))).toEqual({
      error: 'no header line (JSON, then a newline) in the first 4 KiB',
    });
    expect(unframe(Buffer.from('{bad\n'))).toEqual({ error: 'header line is not JSON' });
  });

  it('a signature made for a snapshot does not verify as a delta', () => {
    const body = Buffer.from('{"zone":"z"}');
    const s = signBody('snapshot', body, priv);
    expect(verifyBody('snapshot', body, s.keyId, s.sig, keys)).toBe('ok');
    expect(verifyBody('delta', body, s.keyId, s.sig, keys)).toBe('bad-signature');
    expect(verifyBody('snapshot', Buffer.from('{"zone":"y"}'), s.keyId, s.sig, keys)).toBe('bad-signature');
    expect(verifyBody('snapshot', body, '0000000000000000', s.sig, keys)).toBe('unknown-key');
  });
});
