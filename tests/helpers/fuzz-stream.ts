import { seededRandom } from '../../src/shared/random.js';
import type { DialectCodec } from '../../src/sources/dialect/codec.js';

export interface FuzzStream {
  /** The stream in segments, in order (write them in any chunking). */
  readonly segments: Buffer[];
  readonly bytes: number;
  /** The valid frames in the stream: text and confidence, in order. */
  readonly expected: { text: string; confidence: number }[];
  /** How many segments of each kind went in. */
  readonly kinds: Record<string, number>;
}

const LETTERS = 'BDFGHJKLNPRSTVXZ';

/**
 * Random bytes, binary noise rich in the dialect's own framing bytes, truncated frames, corrupted
 * frames, over-long runs and valid frames, interleaved without separators, until `totalBytes`.
 * Frames are corrupted only where the dialect has a checksum (without one a changed digit is a
 * different, valid read, which no decoder can tell).
 */
export function fuzzStream(codec: DialectCodec, totalBytes: number, seed: number): FuzzStream {
  const r = seededRandom(seed);
  const int = (n: number): number => Math.floor(r() * n);
  const segments: Buffer[] = [];
  const expected: { text: string; confidence: number }[] = [];
  const kinds: Record<string, number> = {};
  let bytes = 0;
  const framingBytes = [
    ...Buffer.from(
      `\n\r\x02\x03$*{}";,|=LPR${codec.profile.framing.type === 'length-prefixed' ? '\xaa\x55' : ''}`,
      'latin1',
    ),
    0x00,
    0xff,
  ];
  const hasChecksum = codec.checksum.width > 0;
  const frame = (): { bytes: Buffer; text: string; confidence: number } => {
    const text = `${LETTERS[int(16)]}${LETTERS[int(16)]}${int(10)}${int(10)}${int(10)}${LETTERS[int(16)]}`;
    const confidence = 500 + int(50) * 10;
    const b = codec.encode({
      text,
      country: 'NL',
      confidence,
      cameraTime: Date.UTC(2026, 0, 5, 9, 0, 0) + int(3_600_000),
      cameraLane: '1',
      direction: 'in',
      charConfidences: [...text].map(() => 900),
      imageRef: `img-${int(1e6)}.jpg`,
    });
    return { bytes: b, text, confidence };
  };
  const push = (kind: string, b: Buffer): void => {
    segments.push(b);
    bytes += b.length;
    kinds[kind] = (kinds[kind] ?? 0) + 1;
  };
  while (bytes < totalBytes) {
    const pick = r();
    if (pick < 0.35) {
      const f = frame();
      expected.push({ text: f.text, confidence: f.confidence });
      push('valid', f.bytes);
    } else if (pick < 0.55) {
      push('random', Buffer.from(Array.from({ length: 1 + int(600) }, () => int(256))));
    } else if (pick < 0.68) {
      const f = frame().bytes;
      push('truncated', Buffer.from(f.subarray(0, 1 + int(f.length - 2))));
    } else if (pick < 0.83) {
      push(
        'framing-noise',
        Buffer.from(Array.from({ length: 1 + int(64) }, () => framingBytes[int(framingBytes.length)]!)),
      );
    } else if (pick < 0.9) {
      // A long run without terminators, like a camera stuck sending.
      push('over-long', Buffer.from(Array.from({ length: 300 + int(2700) }, () => 0x41 + int(26))));
    } else if (hasChecksum) {
      const f = Buffer.from(frame().bytes);
      const at = Math.floor(f.length * 0.25) + int(Math.floor(f.length * 0.5));
      f[at] = f[at]! ^ (1 << int(7));
      push('corrupted', f);
    }
  }
  return { segments, bytes, expected, kinds };
}

/** Cuts segments into chunks of random sizes, as a serial driver or TCP would deliver them. */
export function* chunked(segments: readonly Buffer[], seed: number, maxChunk = 4096): Generator<Buffer> {
  const r = seededRandom(seed);
  const all = Buffer.concat(segments);
  for (let at = 0; at < all.length;) {
    const n = 1 + Math.floor(r() * maxChunk);
    yield all.subarray(at, at + n);
    at += n;
  }
}
