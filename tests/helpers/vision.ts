import { ALPHABET } from '../../src/vision/decode.js';
import type { RgbFrame } from '../../src/vision/image.js';

/** Frames and reader outputs for the vision tests, drawn rather than recorded. */

/** A 640x480 street-grey frame with a plate drawn at (cx, cy), `w` wide, tilted by `deg`. */
export function frameWithPlate(opts: {
  cx: number;
  cy: number;
  w: number;
  deg: number;
  field: [number, number, number];
  ink: [number, number, number];
  /** Horizontal shift per pixel down the plate (seen from the side). */
  shear?: number;
  /** Character cells left empty (wide gaps between groups). */
  gaps?: readonly number[];
}): RgbFrame {
  const width = 640;
  const height = 480;
  const data = new Uint8Array(width * height * 3);
  const h = opts.w / 4.4;
  const a = (opts.deg * Math.PI) / 180;
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      // Plate coordinates of this pixel.
      const dx = x - opts.cx;
      const dy = y - opts.cy;
      const v = -dx * Math.sin(a) + dy * Math.cos(a);
      const u = dx * Math.cos(a) + dy * Math.sin(a) - (opts.shear ?? 0) * v;
      // Tarmac: a soft gradient with pixel noise.
      const n = 60 + y / 12 + (((x * 2654435761) ^ (y * 40503)) >>> 28);
      let c: [number, number, number] = [n, n, n + 3];
      if (Math.abs(u) < opts.w / 2 && Math.abs(v) < h / 2) {
        c = opts.field;
        // Six character-like strokes pairs across the middle 70% of the height.
        const cell = (u + opts.w / 2) / (opts.w / 8);
        const inChar =
          cell > 1 &&
          cell < 7 &&
          !(opts.gaps ?? []).includes(Math.floor(cell)) &&
          Math.abs(v) < h * 0.35 &&
          cell % 1 > 0.2 &&
          cell % 1 < 0.8;
        const stroke = (cell % 1 < 0.38 || cell % 1 > 0.62) && inChar;
        if (stroke) c = opts.ink;
      }
      data.set(c, (y * width + x) * 3);
    }
  return { width, height, data };
}

export const READER_CLASSES = ALPHABET.length + 1;
export const READER_COLUMNS = 32;

/**
 * Column probabilities as the network would give them: each spec entry occupies two columns
 * with its first choice (and optionally a runner-up), separated by blank columns.
 */
export function readerColumns(spec: readonly (string | [string, number, string, number])[]): Float32Array {
  const p = new Float32Array(READER_COLUMNS * READER_CLASSES);
  for (let t = 0; t < READER_COLUMNS; t++) p[t * READER_CLASSES] = 1; // blank
  let t = 1;
  for (const s of spec) {
    const [first, p1, second, p2] = typeof s === 'string' ? [s, 0.95, undefined, 0] : s;
    for (const col of [t, t + 1]) {
      p[col * READER_CLASSES] = 1 - p1 - p2;
      p[col * READER_CLASSES + ALPHABET.indexOf(first) + 1] = p1;
      if (second) p[col * READER_CLASSES + ALPHABET.indexOf(second) + 1] = p2;
    }
    t += 3;
  }
  return p;
}
