/**
 * npm run eval:vision [-- --json] [--synthetic N] [--heldout DIR] [--model DIR] [--skip-baseline]
 *
 * Scores the plate reader, and in the same run a baseline a user could pick instead (Debian's
 * tesseract-ocr on the same crops):
 *  1. held-out synthetic crops (render_plates.py, a seed never used for training): exact reads;
 *  2. the real clips in ../shared/data/real-nl-clips: per frame (each ground-truth plate in each
 *     frame read exactly) and per clip (the majority of the reads of a plate is right), plus
 *     reads that match no plate in the clip;
 *  3. time per 640x480 frame (localise + read) on the selected back-end, and the model size.
 * The real clips are for measuring only: nothing here feeds back into training or thresholds.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { canonicalText } from '../../src/plate/key.js';
import { rankCandidates } from '../../src/plate/confusions.js';
import { sidecodeOf } from '../../src/plate/sidecodes.js';
import { selectBackend, type VisionBackendChoice } from '../../src/vision/backend.js';
import { decodeColumns } from '../../src/vision/decode.js';
import { readFrames } from '../../src/vision/ffmpeg.js';
import { warpQuadToGrey, type RgbFrame } from '../../src/vision/image.js';
import { localisePlates } from '../../src/vision/localise.js';
import { DEFAULT_MODEL_DIR, loadPlateReader, modelSizeBytes } from '../../src/vision/model.js';
import { FrameRecogniser } from '../../src/vision/recognise.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const { values } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    synthetic: { type: 'string', default: '2000' },
    // A held-out set rendered before (crops.u8 + labels.txt), e.g. by an earlier renderer, to
    // compare models on the same crops; by default the current renderer's seed-99 set.
    heldout: { type: 'string' },
    backend: { type: 'string', default: 'wasm' },
    model: { type: 'string', default: DEFAULT_MODEL_DIR },
    'skip-baseline': { type: 'boolean', default: false },
    'baseline-every': { type: 'string', default: '3' },
  },
});
const log = (s: string): void => void process.stderr.write(`${s}\n`);
const report: Record<string, unknown> = {};

const backend = await selectBackend(values.backend as VisionBackendChoice);
const model = await loadPlateReader(values.model);
report['backend'] = backend.backend;
report['modelBytes'] = modelSizeBytes(values.model);
log(`eval: ${backend.backend} back-end, model ${report['modelBytes']} bytes`);

// --- 1. held-out synthetic ---------------------------------------------------------------
const nSynthetic = Number(values.synthetic);
// The rendered set is cached per renderer version: a changed renderer renders a new set.
const rendererHash = createHash('sha256')
  .update(readFileSync(join(root, 'scripts/vision/render_plates.py')))
  .update(readFileSync(join(root, 'scripts/vision/kenteken_glyphs.py')))
  .digest('hex')
  .slice(0, 10);
const heldDir = values.heldout ?? join(root, 'tmp', 'vision', `heldout-${nSynthetic}-${rendererHash}`);
if (values.heldout && !existsSync(join(heldDir, 'labels.txt'))) throw new Error(`--heldout ${heldDir}: no labels.txt`);
if (!existsSync(join(heldDir, 'labels.txt'))) {
  mkdirSync(heldDir, { recursive: true });
  log(`eval: rendering ${nSynthetic} held-out synthetic plates (seed 99)`);
  const r = spawnSync(
    '/usr/bin/python3',
    [
      join(root, 'scripts/vision/render_plates.py'),
      '--count',
      String(nSynthetic),
      '--seed',
      '99',
      '--negatives',
      '0',
      '--out',
      join(heldDir, 'heldout.npz'),
      '--raw-dir',
      heldDir,
    ],
    { stdio: ['ignore', 'inherit', 'inherit'] },
  );
  if (r.status !== 0) throw new Error('render_plates.py failed (needs python3-pil, python3-numpy)');
}
const labels = readFileSync(join(heldDir, 'labels.txt'), 'utf8').split('\n').slice(0, nSynthetic);
const raw = readFileSync(join(heldDir, 'crops.u8'));
const px = model.inputHeight * model.inputWidth;
const synthCrops = labels.map((_, i) => new Uint8Array(raw.buffer, raw.byteOffset + i * px, px));
let exact = 0;
let exactRaw = 0;
const confusions = new Map<string, number>();
for (let i = 0; i < synthCrops.length; i += 64) {
  const batch = synthCrops.slice(i, i + 64);
  const probs = await model.predict(batch);
  batch.forEach((_, k) => {
    const d = decodeColumns(probs, model.columns, k * model.columns * model.classes);
    const want = canonicalText(labels[i + k]!);
    if (d?.text === want) exact++;
    else {
      const key = `${labels[i + k]} → ${d?.raw ?? '(nothing)'}`;
      confusions.set(key, (confusions.get(key) ?? 0) + 1);
    }
    if (d?.raw === labels[i + k]) exactRaw++;
  });
}
const synth = {
  set: values.heldout ?? `render_plates.py ${rendererHash}, seed 99`,
  crops: synthCrops.length,
  exact: exact / synthCrops.length,
  exactWithDashes: exactRaw / synthCrops.length,
  sampleErrors: [...confusions.keys()].slice(0, 10),
};
report['synthetic'] = synth;
log(`synthetic held-out: ${(synth.exact * 100).toFixed(2)}% exact of ${synth.crops}`);

// Tesseract on a subset of the same crops (it takes ~0.1 s a crop).
const tesseract = (crops: readonly Uint8Array[], w: number, h: number, dir: string): string[] => {
  mkdirSync(dir, { recursive: true });
  const list: string[] = [];
  crops.forEach((c, i) => {
    const f = join(dir, `${String(i).padStart(5, '0')}.pgm`);
    writeFileSync(f, Buffer.concat([Buffer.from(`P5\n${w} ${h}\n255\n`), Buffer.from(c)]));
    list.push(f);
  });
  writeFileSync(join(dir, 'list.txt'), `${list.join('\n')}\n`);
  const r = spawnSync(
    'tesseract',
    [
      join(dir, 'list.txt'),
      'stdout',
      '--psm',
      '7',
      '-c',
      'tessedit_char_whitelist=0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-',
    ],
    { encoding: 'utf8', maxBuffer: 64 << 20 },
  );
  if (r.status !== 0) throw new Error(`tesseract failed: ${r.stderr}`);
  const pages = r.stdout.split('\f');
  // Tesseract gets the same sidecode help as a serial camera's read: the best confusion
  // candidate (src/plate rankCandidates) when its own text fits no sidecode.
  return crops.map((_, i) => {
    const t = canonicalText(pages[i] ?? '');
    const best = rankCandidates(t)[0];
    return best && best.fit > 0 ? best.text : t;
  });
};
const haveTesseract = spawnSync('tesseract', ['--version']).status === 0;
const runBaseline = haveTesseract && !values['skip-baseline'];
if (runBaseline) {
  const n = Math.min(300, synthCrops.length);
  const t0 = performance.now();
  const texts = tesseract(
    synthCrops.slice(0, n),
    model.inputWidth,
    model.inputHeight,
    join(root, 'tmp', 'vision', 'tess-synth'),
  );
  const ms = (performance.now() - t0) / n;
  const ok = texts.filter((t, i) => t === canonicalText(labels[i]!)).length;
  report['syntheticBaseline'] = {
    name: 'tesseract-ocr --psm 7, sidecode candidates',
    crops: n,
    exact: ok / n,
    msPerCrop: ms,
  };
  log(`synthetic baseline (tesseract): ${((ok / n) * 100).toFixed(2)}% exact of ${n}`);
}

// --- 2. real clips ------------------------------------------------------------------------
const clipsDir = join(root, '..', 'shared', 'data', 'real-nl-clips');
if (!existsSync(join(clipsDir, 'clips.csv'))) {
  log(`eval: ${clipsDir} absent; real-clip figures skipped`);
  report['real'] = null;
} else {
  const recogniser = new FrameRecogniser(model);
  const rows = readFileSync(join(clipsDir, 'clips.csv'), 'utf8').trim().split('\n').slice(1);
  const frameMs: number[] = [];
  const clips: Record<string, unknown>[] = [];
  let plateFrames = 0;
  let plateFramesRight = 0;
  let platesRight = 0;
  let plates = 0;
  let falseReads = 0;
  let readsTotal = 0;
  const base = { plateFrames: 0, plateFramesRight: 0, platesRight: 0 };
  for (const row of rows) {
    const [file, platesField] = row.split(',');
    const truth = platesField!.split('|').map(canonicalText);
    const frames: RgbFrame[] = [];
    await readFrames(join(clipsDir, file!), {}, (f) => void frames.push(f));
    const perPlate = new Map<string, string[]>(truth.map((t) => [t, []]));
    const basePerPlate = new Map<string, string[]>(truth.map((t) => [t, []]));
    let clipFalse = 0;
    const baselineCrops: Uint8Array[] = [];
    const baselineFrameOf: number[] = [];
    for (const [fi, frame] of frames.entries()) {
      const copy = { ...frame, data: frame.data.slice() };
      const r = await recogniser.recognise(copy);
      frameMs.push(r.localiseMs + r.readMs);
      const texts = r.plates.map((p) => p.text);
      readsTotal += texts.length;
      for (const t of truth) {
        plateFrames++;
        if (texts.includes(t)) plateFramesRight++;
      }
      for (const t of texts) {
        const owner = nearest(t, truth);
        if (owner) perPlate.get(owner)!.push(t);
        else clipFalse++;
      }
      if (runBaseline && fi % Number(values['baseline-every']) === 0) {
        for (const region of localisePlates(frame)) {
          baselineCrops.push(warpQuadToGrey(frame, region.corners, 256, 64));
          baselineFrameOf.push(fi);
        }
      }
    }
    falseReads += clipFalse;
    const majority = (reads: readonly string[]): string | undefined => {
      const counts = new Map<string, number>();
      for (const r of reads) counts.set(r, (counts.get(r) ?? 0) + 1);
      return [...counts].sort((a, b) => b[1] - a[1])[0]?.[0];
    };
    const clipPlates = truth.map((t) => {
      const reads = perPlate.get(t)!;
      const right = majority(reads) === t;
      plates++;
      if (right) platesRight++;
      return {
        plate: t,
        framesRight: reads.filter((r) => r === t).length,
        reads: reads.length,
        majority: majority(reads),
        right,
      };
    });
    let baselineSummary: Record<string, unknown> | undefined;
    if (runBaseline && baselineCrops.length) {
      const texts = tesseract(baselineCrops, 256, 64, join(root, 'tmp', 'vision', 'tess-real'));
      const byFrame = new Map<number, string[]>();
      texts.forEach((t, i) => {
        if (!sidecodeOf(t)) return;
        const f = baselineFrameOf[i]!;
        byFrame.set(f, [...(byFrame.get(f) ?? []), t]);
      });
      const sampled =
        [...new Set(baselineFrameOf)].length || Math.ceil(frames.length / Number(values['baseline-every']));
      for (const t of truth) {
        base.plateFrames += sampled;
        for (const [, ts] of byFrame) if (ts.includes(t)) base.plateFramesRight++;
        for (const [, ts] of byFrame) for (const x of ts) if (nearest(x, truth) === t) basePerPlate.get(t)!.push(x);
        if (majority(basePerPlate.get(t)!) === t) base.platesRight++;
      }
      baselineSummary = {
        crops: baselineCrops.length,
        plates: truth.map((t) => ({ plate: t, majority: majority(basePerPlate.get(t)!) })),
      };
    }
    clips.push({
      file,
      frames: frames.length,
      plates: clipPlates,
      falseReads: clipFalse,
      ...(baselineSummary ? { baseline: baselineSummary } : {}),
    });
    log(
      `${file}: ${clipPlates.map((p) => `${p.plate} ${p.right ? 'right' : 'WRONG'} (${p.framesRight}/${frames.length} frames, majority ${p.majority ?? '-'})`).join('; ')}; ${clipFalse} stray reads`,
    );
  }
  frameMs.sort((a, b) => a - b);
  report['real'] = {
    clips: clips.length,
    plates,
    platesMajorityRight: platesRight,
    perFrameExact: plateFramesRight / plateFrames,
    plateFrames,
    strayReads: falseReads,
    reads: readsTotal,
    frameMsP50: frameMs[frameMs.length >> 1],
    frameMsP90: frameMs[Math.floor(frameMs.length * 0.9)],
    detail: clips,
  };
  if (runBaseline)
    report['realBaseline'] = {
      name: `tesseract-ocr --psm 7 on the same regions (every ${values['baseline-every']}th frame), sidecode candidates`,
      platesMajorityRight: base.platesRight,
      perFrameExact: base.plateFrames ? base.plateFramesRight / base.plateFrames : 0,
    };
  log(
    `real clips: majority right ${platesRight}/${plates}; per-frame exact ${((plateFramesRight / plateFrames) * 100).toFixed(1)}% of ${plateFrames}; ${falseReads} stray reads; frame p50 ${frameMs[frameMs.length >> 1]!.toFixed(1)} ms`,
  );
  if (runBaseline)
    log(
      `real clips baseline (tesseract): majority right ${base.platesRight}/${plates}; per-frame exact ${((base.plateFramesRight / Math.max(1, base.plateFrames)) * 100).toFixed(1)}%`,
    );
}

const out = join(root, 'tmp', 'vision', 'eval.json');
mkdirSync(join(root, 'tmp', 'vision'), { recursive: true });
writeFileSync(out, `${JSON.stringify(report, null, 1)}\n`);
if (values.json) process.stdout.write(`${JSON.stringify(report)}\n`);
else log(`eval: full report in ${out}`);
model.dispose();

/** The ground-truth plate a read belongs to: at most 2 characters different, else none. */
function nearest(read: string, truth: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = 3;
  for (const t of truth) {
    const d = editDistance(read, t);
    if (d < bestD) [best, bestD] = [t, d];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  const dp = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = dp[0]!;
    dp[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = dp[j]!;
      dp[j] = Math.min(dp[j]! + 1, dp[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return dp[b.length]!;
}
