import { describe, expect, it } from 'vitest';
import { decodeColumns } from '../../src/vision/decode.js';
import { boxOfCorners } from '../../src/vision/image.js';
import type { PlateFinding } from '../../src/vision/recognise.js';
import { PlateVote } from '../../src/vision/vote.js';
import { READER_CLASSES as C, READER_COLUMNS as T, readerColumns as columns } from '../helpers/vision.js';

describe('reading a plate from the network output', () => {
  it('reads a clean plate with its sidecode and per-character confidences', () => {
    const d = decodeColumns(columns([...'96-LKH-9']), T)!;
    expect(d.text).toBe('96LKH9');
    expect(d.raw).toBe('96-LKH-9');
    expect(d.sidecode).toBe(7);
    expect(d.charConfidences).toEqual([950, 950, 950, 950, 950, 950]);
    expect(d.confidence).toBe(950);
    expect(d.corrected).toBe(0);
  });

  it('resolves a letter read in a digit position by the sidecode (B read for 8)', () => {
    // 8B-LKH-9 does not fit any sidecode; 88-LKH-9 does, with 8 the runner-up of that column.
    const d = decodeColumns(columns(['8', ['B', 0.6, '8', 0.35], '-', 'L', 'K', 'H', '-', '9']), T)!;
    expect(d.text).toBe('88LKH9');
    expect(d.corrected).toBe(1);
    expect(d.charConfidences[1]).toBe(350);
    expect(d.confidence).toBeLessThan(900);
  });

  it('uses the dashes it saw to choose between sidecodes', () => {
    // First character Z (0.5) or 2 (0.45): D-LLL-DD and LL-LL-DD both fit; the dashes decide.
    const z2: [string, number, string, number] = ['Z', 0.5, '2', 0.45];
    const a = decodeColumns(columns([z2, '-', 'Z', 'K', 'H', '-', '1', '2']), T)!;
    expect([a.text, a.sidecode]).toEqual(['2ZKH12', 8]);
    const b = decodeColumns(columns([z2, 'Z', '-', 'K', 'H', '-', '1', '2']), T)!;
    expect([b.text, b.sidecode]).toEqual(['ZZKH12', 5]);
  });

  it('finds a faint character that greedy decoding lost in the blanks, with its low confidence', () => {
    // K at 0.3 against blank 0.7: greedy reads 96-LH-9 (five characters, no sidecode).
    const d = decodeColumns(columns(['9', '6', '-', 'L', ['K', 0.3, 'X', 0.05], 'H', '-', '9']), T)!;
    expect(d.raw).toBe('96-LH-9');
    expect([d.text, d.sidecode]).toEqual(['96LKH9', 7]);
    expect(d.charConfidences[3]).toBe(300);
    expect(d.confidence).toBeLessThanOrEqual(600);
  });

  it('drops a character read twice when no sidecode has room for it', () => {
    const d = decodeColumns(columns(['9', '6', '-', 'L', 'K', 'H', ['H', 0.55, 'K', 0.05], '-', '9']), T)!;
    expect(d.raw).toBe('96-LKHH-9');
    expect([d.text, d.sidecode]).toEqual(['96LKH9', 7]);
  });

  it('gives no sidecode (so no plate) for dealer text under the plate', () => {
    expect(decodeColumns(columns([...'JONGERIUS']), T)!.sidecode).toBeUndefined();
    // Six letters fit no sidecode either: forcing digits where none was seen leaves no confidence.
    expect(decodeColumns(columns([...'HANSNL']), T)!.confidence).toBeLessThan(50);
  });

  it('returns nothing for a crop without characters', () => {
    const p = new Float32Array(T * C);
    for (let t = 0; t < T; t++) p[t * C] = 1;
    expect(decodeColumns(p, T)).toBeUndefined();
  });
});

function finding(text: string, conf: number, x = 100, chars?: number[]): PlateFinding {
  const corners = [
    { x, y: 100 },
    { x: x + 120, y: 100 },
    { x: x + 120, y: 126 },
    { x, y: 126 },
  ] as const;
  return {
    text,
    display: text,
    country: 'NL',
    sidecode: 7,
    confidence: conf,
    charConfidences: chars ?? [...text].map(() => conf),
    raw: text,
    corrected: 0,
    box: boxOfCorners(corners),
    cue: 'colour',
  };
}

describe('frames of one passage vote', () => {
  it('sends one read once three frames agree, not one per frame', () => {
    const vote = new PlateVote({ minFrames: 3, lostAfterMs: 1000 });
    expect(vote.push([finding('96LKH9', 900)], 0)).toEqual([]);
    expect(vote.push([finding('96LKH9', 880)], 250)).toEqual([]);
    const out = vote.push([finding('96LKH9', 910)], 500);
    expect(out).toHaveLength(1);
    expect(out[0]).toMatchObject({ text: '96LKH9', frames: 3, agreeing: 3, trigger: 'agreement' });
    expect(vote.push([finding('96LKH9', 910)], 750)).toEqual([]);
  });

  it('outvotes a misread character in a minority of frames', () => {
    const vote = new PlateVote({ minFrames: 3, lostAfterMs: 1000 });
    vote.push([finding('96LKH9', 900)], 0);
    vote.push([finding('96LXH9', 600, 102)], 250);
    vote.push([finding('96LKH9', 850, 104)], 500);
    const out = vote.push([finding('96LKH9', 850, 106)], 750);
    expect(out.map((r) => r.text)).toEqual(['96LKH9']);
    // The frame that disagreed lowers the confidence of that character only.
    expect(out[0]!.charConfidences[3]).toBeLessThan(out[0]!.charConfidences[0]!);
  });

  it('sends what it has when the plate leaves the picture before enough frames agree', () => {
    const vote = new PlateVote({ minFrames: 3, lostAfterMs: 1000 });
    vote.push([finding('28RBN4', 800)], 0);
    expect(vote.expire(900)).toEqual([]);
    const out = vote.expire(1001);
    expect(out).toHaveLength(1);
    expect(out[0]).toMatchObject({ text: '28RBN4', frames: 1, trigger: 'track-lost' });
    expect(vote.openTracks).toBe(0);
  });

  it('keeps the vote of a passage together when the reader is slow and frames are far apart', () => {
    const vote = new PlateVote({ minFrames: 3, lostAfterMs: 1000 });
    expect(vote.push([finding('96LKH9', 900)], 0)).toEqual([]);
    expect(vote.push([finding('96LKH9', 900)], 2500)).toEqual([]);
    const out = vote.push([finding('96LKH9', 900)], 5000);
    expect(out).toHaveLength(1);
    expect(out[0]).toMatchObject({ frames: 3, trigger: 'agreement' });
  });

  it('ends a track once the plate is missing from two frames read after it', () => {
    const vote = new PlateVote({ minFrames: 5, lostAfterMs: 500 });
    vote.push([finding('62PBVT', 800)], 0);
    expect(vote.push([], 1000)).toEqual([]);
    const out = vote.push([], 1250);
    expect(out.map((r) => [r.text, r.trigger])).toEqual([['62PBVT', 'track-lost']]);
  });

  it('keeps two plates in one frame apart', () => {
    const vote = new PlateVote({ minFrames: 2, lostAfterMs: 1000 });
    vote.push([finding('28RBN4', 800, 10), finding('62PBVT', 800, 400)], 0);
    const out = vote.push([finding('28RBN4', 800, 12), finding('62PBVT', 800, 402)], 250);
    expect(out.map((r) => r.text).sort()).toEqual(['28RBN4', '62PBVT']);
  });
});
