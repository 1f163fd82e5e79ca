import { describe, expect, it } from 'vitest';
import { BUILTIN_DIALECT_DIR, DialectCatalog } from '../../src/sources/dialect/catalog.js';
import { StreamDecoder } from '../../src/sources/stream-decoder.js';
import { chunked, fuzzStream } from '../helpers/fuzz-stream.js';
import { CollectingSink } from '../helpers/source-sink.js';

const catalog = new DialectCatalog([BUILTIN_DIALECT_DIR]);
const SIZE = process.env['ZONEGATE_SOAK'] === 'long' ? 8_000_000 : 400_000;

describe('decoding hostile input', () => {
  it.each(catalog.names())(
    '%s: every valid frame among random bytes, noise, truncated, corrupted and over-long input is read, in order, with bounded memory',
    (dialect) => {
      const codec = catalog.codec(dialect);
      for (const seed of [1, 2]) {
        const stream = fuzzStream(codec, SIZE, seed * 7919 + dialect.length);
        const sink = new CollectingSink();
        const decoder = new StreamDecoder({ codec, sourceId: 'fuzz', lane: 'in-1', sink });
        let maxPending = 0;
        for (const chunk of chunked(stream.segments, seed)) {
          decoder.push(chunk, 0, 0n);
          maxPending = Math.max(maxPending, decoder.pending);
        }
        decoder.flush('closed', 0);
        const got = sink.reads.map((r) => ({ text: r.text, confidence: r.confidence }));
        expect(got.length, `${dialect} seed ${seed}`).toBe(stream.expected.length);
        expect(got).toEqual(stream.expected);
        // Everything that was not a valid frame was refused and counted.
        expect(sink.rejections.length).toBeGreaterThan(stream.kinds['random']! / 2);
        const framing = codec.profile.framing;
        expect(decoder.highWater).toBeLessThanOrEqual(framing.maxFrameBytes + 16);
        expect(maxPending).toBeLessThanOrEqual(framing.maxFrameBytes + 16 + 4096);
      }
    },
  );
});
