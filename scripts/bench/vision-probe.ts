/**
 * Child process of the `vision` bench suite, so that the RSS it reports is the vision worker's
 * and not the rest of the bench's. Prints one JSON object on stdout.
 *
 *   node --import tsx scripts/bench/vision-probe.ts BACKEND FRAMES [CLIP...]
 */
import { existsSync } from 'node:fs';
import type { VisionBackendChoice } from '../../src/vision/backend.js';
import { readFrames } from '../../src/vision/ffmpeg.js';
import type { RgbFrame } from '../../src/vision/image.js';
import { modelSizeBytes } from '../../src/vision/model.js';
import { VisionWorker } from '../../src/vision/vision-worker.js';

const [backend = 'wasm', nFrames = '40', ...clips] = process.argv.slice(2);
const want = Number(nFrames);

const frames: RgbFrame[] = [];
for (const clip of clips.filter((c) => existsSync(c))) {
  // Every 4th frame: enough variety, without the frames themselves dominating the RSS figures.
  await readFrames(clip, { maxWidth: 640 }, (f, i) => void (i % 4 === 0 && frames.push(f)));
}
if (frames.length === 0) frames.push(syntheticFrame());

const rssBefore = process.memoryUsage.rss();
const worker = await VisionWorker.start({ backend: backend as VisionBackendChoice });
const inner: number[] = [];
const roundTrip: number[] = [];
for (let i = 0; i < want; i++) {
  const f = frames[(i * 7) % frames.length]!;
  const copy = { ...f, data: f.data.slice() };
  const t0 = performance.now();
  const { recognition } = await worker.recognise(copy);
  roundTrip.push(performance.now() - t0);
  inner.push(recognition.localiseMs + recognition.readMs);
}
const stats = await worker.stats();
const rssAfter = process.memoryUsage.rss();
await worker.stop();
process.stdout.write(
  `${JSON.stringify({
    backend: worker.report.backend,
    frames: want,
    distinctFrames: frames.length,
    innerMs: inner,
    roundTripMs: roundTrip,
    rssBefore,
    rssAfter,
    workerHeapBytes: stats.heapUsedBytes,
    tensorBytes: stats.tensorBytes,
    modelBytes: modelSizeBytes(),
  })}\n`,
);

/** Without the real clips: a grey street-like frame with one yellow plate-like block of dark bars. */
function syntheticFrame(): RgbFrame {
  const width = 640;
  const height = 480;
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < width * height; i++) {
    const v = 60 + ((i * 2654435761) >>> 24) / 4;
    data.set([v, v, v], i * 3);
  }
  for (let y = 300; y < 330; y++)
    for (let x = 250; x < 390; x++) {
      const bar = x > 258 && x < 382 && y > 305 && y < 325 && (x - 258) % 20 < 6;
      data.set(bar ? [20, 20, 20] : [240, 190, 20], (y * width + x) * 3);
    }
  return { width, height, data };
}
