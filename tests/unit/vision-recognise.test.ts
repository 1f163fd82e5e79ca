import { describe, expect, it } from 'vitest';
import { scaleQuad, type Point } from '../../src/vision/image.js';
import type { PlateReaderModel } from '../../src/vision/model.js';
import { FrameRecogniser } from '../../src/vision/recognise.js';
import { READER_CLASSES, READER_COLUMNS, frameWithPlate, readerColumns } from '../helpers/vision.js';

/**
 * The network's part is played by a reader that answers each call with the columns it is given
 * for that call (one entry per crop), so what the recogniser does with sure, unsure and
 * non-plate reads can be set exactly; the localiser and the cutting out are the real ones.
 */
function scriptedReader(calls: Float32Array[][]): PlateReaderModel & { crops: number[] } {
  const crops: number[] = [];
  return {
    inputHeight: 32,
    inputWidth: 128,
    columns: READER_COLUMNS,
    classes: READER_CLASSES,
    sizeBytes: 0,
    crops,
    predict(batch) {
      crops.push(batch.length);
      const answer = calls[crops.length - 1] ?? [];
      const out = new Float32Array(batch.length * READER_COLUMNS * READER_CLASSES);
      batch.forEach((_, k) => out.set(answer[k] ?? readerColumns([]), k * READER_COLUMNS * READER_CLASSES));
      return Promise.resolve(out);
    },
    dispose() {},
  };
}

const plateFrame = frameWithPlate({ cx: 320, cy: 300, w: 180, deg: 0, field: [245, 195, 20], ink: [20, 20, 20] });
const sure = (text: string): Float32Array => readerColumns([...text]);
/** Every character at 0.5 against 0.45 for a runner-up: a plate confidence of about 500. */
const unsure = (text: string, runnerUp: string): Float32Array =>
  readerColumns([...text].map((c, i) => (c === '-' ? c : [c, 0.5, runnerUp[i]!, 0.45])));

describe('recognising the plates in a frame', () => {
  it('takes a sure read as it is, without a second look', async () => {
    const reader = scriptedReader([[sure('96-LKH-9')]]);
    const { plates, regions } = await new FrameRecogniser(reader).recognise(plateFrame);
    expect(regions).toBeGreaterThanOrEqual(1);
    expect(plates.map((p) => p.text)).toEqual(['96LKH9']);
    expect(reader.crops).toHaveLength(1);
  });

  it('looks again at an unsure read, tighter and looser, and keeps the surest read', async () => {
    const reader = scriptedReader([
      [unsure('28-KBN-4', '28-RBN-4')],
      // Tighter: still unsure; looser: sure, and of the other letter.
      [unsure('28-KBN-4', '28-RBN-4'), sure('28-RBN-4')],
    ]);
    const { plates } = await new FrameRecogniser(reader).recognise(plateFrame);
    expect(reader.crops[1]).toBe(2);
    expect(plates.map((p) => p.text)).toEqual(['28RBN4']);
    expect(plates[0]!.confidence).toBeGreaterThan(900);
  });

  it('keeps the first read when the second look is less sure', async () => {
    const reader = scriptedReader([
      [unsure('28-KBN-4', '28-RBN-4')],
      [readerColumns([]), unsure('28-RBN-4', '28-KBN-4').map((p) => p * 0.9)],
    ]);
    const { plates } = await new FrameRecogniser(reader).recognise(plateFrame);
    expect(plates.map((p) => p.text)).toEqual(['28KBN4']);
  });

  it('gives no second look to a region that did not read as a plate', async () => {
    const reader = scriptedReader([[readerColumns([...'SLAGERIJ'])]]);
    const { plates } = await new FrameRecogniser(reader).recognise(plateFrame);
    expect(plates).toEqual([]);
    expect(reader.crops).toHaveLength(1);
  });
});

describe('scaling a plate region', () => {
  const tilted: [Point, Point, Point, Point] = [
    { x: 100, y: 100 },
    { x: 300, y: 135 },
    { x: 293, y: 175 },
    { x: 93, y: 140 },
  ];
  const len = (a: Point, b: Point): number => Math.hypot(a.x - b.x, a.y - b.y);

  it('scales across the plate without moving it along, whatever its tilt', () => {
    const q = scaleQuad(tilted, 1, 1.25);
    expect(len(q[0], q[3])).toBeCloseTo(len(tilted[0], tilted[3]) * 1.25, 6);
    expect(len(q[0], q[1])).toBeCloseTo(len(tilted[0], tilted[1]), 6);
    const centre = (c: readonly Point[]): Point => ({
      x: c.reduce((s, p) => s + p.x, 0) / 4,
      y: c.reduce((s, p) => s + p.y, 0) / 4,
    });
    expect(centre(q).x).toBeCloseTo(centre(tilted).x, 6);
    expect(centre(q).y).toBeCloseTo(centre(tilted).y, 6);
  });

  it('scales along the plate', () => {
    const q = scaleQuad(tilted, 0.8, 1);
    expect(len(q[0], q[1])).toBeCloseTo(len(tilted[0], tilted[1]) * 0.8, 6);
    expect(len(q[1], q[2])).toBeCloseTo(len(tilted[1], tilted[2]), 6);
  });
});
