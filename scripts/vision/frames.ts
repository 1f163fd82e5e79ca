/**
 * tsx scripts/vision/frames.ts --dir tmp/vision/frames [--model DIR] [--json] [--verbose]
 *
 * Scores localise + read on synthetic whole frames from render_frames.py, per plate colour
 * (yellow, black, dark blue, light blue): how often a proposed region covers the plate (its box
 * overlaps the true plate's by IoU >= 0.5), how often the plate is read exactly, and reads of
 * anything else (stray reads). For developing the localiser on synthetic frames, not on the real
 * clips, which are for measuring only.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { canonicalText } from '../../src/plate/key.js';
import { selectBackend } from '../../src/vision/backend.js';
import { boxOfCorners, iou, type Point } from '../../src/vision/image.js';
import { localisePlates } from '../../src/vision/localise.js';
import { DEFAULT_MODEL_DIR, loadPlateReader } from '../../src/vision/model.js';
import { FrameRecogniser } from '../../src/vision/recognise.js';

const { values } = parseArgs({
  options: {
    dir: { type: 'string', default: 'tmp/vision/frames' },
    model: { type: 'string', default: DEFAULT_MODEL_DIR },
    json: { type: 'boolean', default: false },
    verbose: { type: 'boolean', default: false },
  },
});
const log = (s: string): void => void process.stderr.write(`${s}\n`);

interface FrameMeta {
  readonly text: string;
  readonly style: string;
  readonly corners: [number, number][];
}
const meta = JSON.parse(readFileSync(join(values.dir, 'frames.json'), 'utf8')) as {
  width: number;
  height: number;
  frames: FrameMeta[];
};
const raw = readFileSync(join(values.dir, 'frames.rgb'));
const size = meta.width * meta.height * 3;

await selectBackend('wasm');
const model = await loadPlateReader(values.model);
const recogniser = new FrameRecogniser(model);

interface Tally {
  frames: number;
  localised: number;
  read: number;
  stray: number;
  ms: number[];
}
const tallies = new Map<string, Tally>();
for (const [i, f] of meta.frames.entries()) {
  const frame = {
    width: meta.width,
    height: meta.height,
    data: new Uint8Array(raw.buffer, raw.byteOffset + i * size, size),
  };
  const truth = boxOfCorners(f.corners.map(([x, y]) => ({ x, y })) as unknown as [Point, Point, Point, Point]);
  const regions = localisePlates(frame);
  const localised = regions.some((r) => iou(r.box, truth) >= 0.5);
  const r = await recogniser.recognise({ ...frame, data: frame.data.slice() });
  const want = canonicalText(f.text);
  const read = r.plates.some((p) => p.text === want);
  const stray = r.plates.filter((p) => p.text !== want).length;
  const t = tallies.get(f.style) ?? { frames: 0, localised: 0, read: 0, stray: 0, ms: [] };
  t.frames++;
  if (localised) t.localised++;
  if (read) t.read++;
  t.stray += stray;
  t.ms.push(r.localiseMs + r.readMs);
  tallies.set(f.style, t);
  if (values.verbose && (!read || stray))
    log(
      `frame ${i} ${f.style} ${f.text} w=${truth.w}: ${localised ? 'localised' : 'NOT localised'}; reads ${r.plates.map((p) => `${p.display}(${p.cue})`).join(' ') || '-'}; regions ${regions.map((x) => `${x.cue}[${x.box.x},${x.box.y},${x.box.w}x${x.box.h}] iou ${iou(x.box, truth).toFixed(2)}`).join(' ')}`,
    );
}
model.dispose();

const pct = (a: number, b: number): string => `${((a / Math.max(1, b)) * 100).toFixed(1)}%`;
const report: Record<string, unknown> = {};
for (const [style, t] of tallies) {
  t.ms.sort((a, b) => a - b);
  report[style] = {
    frames: t.frames,
    localised: t.localised / t.frames,
    read: t.read / t.frames,
    stray: t.stray,
    msP50: t.ms[t.ms.length >> 1],
  };
  log(
    `${style.padEnd(10)} ${t.frames} frames: localised ${pct(t.localised, t.frames)}, read exactly ${pct(t.read, t.frames)}, ${t.stray} stray reads, p50 ${t.ms[t.ms.length >> 1]!.toFixed(1)} ms`,
  );
}
if (values.json) process.stdout.write(`${JSON.stringify(report)}\n`);
