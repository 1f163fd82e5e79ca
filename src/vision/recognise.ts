import { formatDutch } from '../plate/sidecodes.js';
import { decodeColumns } from './decode.js';
import { iou, scaleQuad, warpQuadToGrey, type PlateBox, type RgbFrame } from './image.js';
import { localisePlates } from './localise.js';
import type { PlateReaderModel } from './model.js';

/** One plate found in one frame. */
export interface PlateFinding {
  /** Canonical text (A–Z0–9). */
  readonly text: string;
  /** With the sidecode's dashes, e.g. "96-LKH-9". */
  readonly display: string;
  readonly country: 'NL';
  readonly sidecode: number;
  /** 0–1000. */
  readonly confidence: number;
  /** 0–1000 per character of `text`. */
  readonly charConfidences: readonly number[];
  /** What the network read before sidecode resolution, dashes included. */
  readonly raw: string;
  /** Characters the sidecode template changed. */
  readonly corrected: number;
  readonly box: PlateBox;
  /** Which cue proposed the region: the yellow field or the character texture. */
  readonly cue: 'colour' | 'texture';
}

export interface FrameRecognition {
  readonly plates: readonly PlateFinding[];
  /** Regions proposed and read. */
  readonly regions: number;
  readonly localiseMs: number;
  readonly readMs: number;
}

export interface RecogniserOptions {
  /** Proposals read per frame, at most (each costs one crop of inference). */
  readonly maxRegions?: number;
  /** A region is reported as a plate from this confidence (0–1000) and a sidecode fit. */
  readonly minConfidence?: number;
}

export const DEFAULT_MAX_REGIONS = 8;
export const DEFAULT_MIN_FINDING_CONFIDENCE = 300;
/** Reads below this confidence (0–1000) get a second look. */
const SECOND_LOOK_BELOW = 900;
/** The second look's crops: the region scaled along and across the plate. */
const SECOND_LOOK_FRAMING: readonly (readonly [number, number])[] = [
  [1, 0.8],
  [1, 1.25],
];

/** Localise, cut out, read, resolve by sidecode: one frame in, the plates in it out. */
export class FrameRecogniser {
  readonly #maxRegions: number;
  readonly #minConfidence: number;

  constructor(
    private readonly model: PlateReaderModel,
    options: RecogniserOptions = {},
  ) {
    this.#maxRegions = options.maxRegions ?? DEFAULT_MAX_REGIONS;
    this.#minConfidence = options.minConfidence ?? DEFAULT_MIN_FINDING_CONFIDENCE;
  }

  async recognise(frame: RgbFrame): Promise<FrameRecognition> {
    const t0 = performance.now();
    const regions = localisePlates(frame, { maxRegions: this.#maxRegions });
    const { inputWidth: w, inputHeight: h, columns, classes } = this.model;
    const crops = regions.map((r) => warpQuadToGrey(frame, r.corners, w, h));
    const t1 = performance.now();
    const probs = await this.model.predict(crops);
    const decoded = regions.map((_, k) => decodeColumns(probs, columns, k * columns * classes));
    // A second look at the reads that would be reported but are not sure: the same region cut
    // out a little tighter and a little looser across the plate (the localiser's box is never
    // exact), and the surest of the three reads is kept. Regions that did not read as a plate
    // get none, so this costs little and adds no reads of things that are not plates.
    const again: { k: number; crop: Uint8Array }[] = [];
    decoded.forEach((d, k) => {
      if (!d || d.sidecode === undefined || d.confidence < this.#minConfidence || d.confidence >= SECOND_LOOK_BELOW)
        return;
      for (const [along, across] of SECOND_LOOK_FRAMING)
        again.push({ k, crop: warpQuadToGrey(frame, scaleQuad(regions[k]!.corners, along, across), w, h) });
    });
    if (again.length > 0) {
      const second = await this.model.predict(again.map((a) => a.crop));
      again.forEach(({ k }, j) => {
        const d = decodeColumns(second, columns, j * columns * classes);
        if (d?.sidecode !== undefined && d.confidence > decoded[k]!.confidence) decoded[k] = d;
      });
    }
    const found: PlateFinding[] = [];
    regions.forEach((region, k) => {
      const d = decoded[k];
      if (!d || d.sidecode === undefined || d.confidence < this.#minConfidence) return;
      found.push({
        text: d.text,
        display: formatDutch(d.text),
        country: 'NL',
        sidecode: d.sidecode,
        confidence: d.confidence,
        charConfidences: d.charConfidences,
        raw: d.raw,
        corrected: d.corrected,
        box: region.box,
        cue: region.cue,
      });
    });
    const t2 = performance.now();
    // One plate, one finding: overlapping regions (colour and texture of the same plate) keep the surest.
    found.sort((a, b) => b.confidence - a.confidence);
    const plates: PlateFinding[] = [];
    for (const f of found) if (!plates.some((p) => iou(p.box, f.box) > 0.2 || p.text === f.text)) plates.push(f);
    return { plates, regions: regions.length, localiseMs: t1 - t0, readMs: t2 - t1 };
  }
}
