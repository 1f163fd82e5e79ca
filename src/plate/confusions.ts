import { SIDECODES, sidecodeFit, sidecodeOf } from './sidecodes.js';

/**
 * Characters that OCR confuses on Dutch plates. Each class is symmetric: a read of any member may
 * stand for any other member.
 */
export const CONFUSION_CLASSES: readonly string[] = ['0OD', '8B', '5S', '2Z', '1I', '6G'];

const isDigit = (c: string): boolean => c >= '0' && c <= '9';

/** For each confusable character: what it may stand for, letters and digits apart (itself included). */
const OPTIONS = new Map<string, { readonly letters: readonly string[]; readonly digits: readonly string[] }>();
for (const cls of CONFUSION_CLASSES)
  for (const ch of cls)
    OPTIONS.set(ch, { letters: [...cls].filter((c) => !isDigit(c)), digits: [...cls].filter(isDigit) });

/** Each sidecode as a letter (true) / digit (false) mask per position. */
const MASKS: readonly (readonly boolean[])[] = SIDECODES.map((s) =>
  s.pattern
    .replace(/-/g, '')
    .split('')
    .map((c) => c === 'L'),
);

/** Maps every confusable character to its class representative: reads of one vehicle share this. */
export function confusionClassKey(text: string): string {
  let out = '';
  for (const ch of text) {
    const cls = CONFUSION_CLASSES.find((c) => c.includes(ch));
    out += cls ? cls[0] : ch;
  }
  return out;
}

/**
 * Every text that differs from the read only by OCR confusions and fits a Dutch sidecode, without
 * the read itself, unranked. Generated per sidecode pattern (each position offers only the letters
 * or only the digits of its confusion class) instead of trying every substitution, so an unknown
 * plate costs microseconds on the hot path: decide() asks which of these the cache knows.
 * Only Dutch texts of six characters have corrections.
 */
export function correctionCandidates(text: string): string[] {
  if (text.length !== 6) return [];
  const out: string[] = [];
  for (const mask of MASKS) {
    // Options per position for this pattern; give up on the pattern as soon as one position has none.
    let combos = 1;
    const opts: (readonly string[])[] = [];
    for (let i = 0; i < 6; i++) {
      const ch = text[i]!;
      const wantLetter = mask[i]!;
      const o = OPTIONS.get(ch);
      const list = o ? (wantLetter ? o.letters : o.digits) : isDigit(ch) !== wantLetter ? [ch] : [];
      if (list.length === 0) {
        combos = 0;
        break;
      }
      opts.push(list);
      combos *= list.length;
    }
    if (combos === 0) continue;
    const idx = [0, 0, 0, 0, 0, 0];
    for (let n = 0; n < combos; n++) {
      let t = '';
      for (let i = 0; i < 6; i++) t += opts[i]![idx[i]!];
      if (t !== text && !out.includes(t)) out.push(t);
      for (let i = 5; i >= 0; i--) {
        if (++idx[i]! < opts[i]!.length) break;
        idx[i] = 0;
      }
    }
  }
  return out;
}

export interface PlateCandidate {
  readonly text: string;
  readonly sidecode: number | undefined;
  /** Characters changed from the read. */
  readonly substitutions: number;
  /** 0 no sidecode, 1 sidecode with unusual letters, 2 clean sidecode fit. */
  readonly fit: 0 | 1 | 2;
  /** Sum of the confidences (0–1000) of the characters that were changed: lower is more plausible. */
  readonly changedConfidence: number;
}

/**
 * The read itself plus its corrections (correctionCandidates), best first: by sidecode fit, then
 * fewest substitutions, then the least confident characters changed (500 where the camera gave no
 * per-character confidence).
 */
export function rankCandidates(text: string, charConfidences?: readonly number[]): PlateCandidate[] {
  const candidate = (t: string): PlateCandidate => {
    let substitutions = 0;
    let changedConfidence = 0;
    for (let i = 0; i < t.length; i++) {
      if (t[i] === text[i]) continue;
      substitutions++;
      changedConfidence += charConfidences?.[i] ?? 500;
    }
    return { text: t, sidecode: sidecodeOf(t)?.code, substitutions, fit: sidecodeFit(t), changedConfidence };
  };
  return [candidate(text), ...correctionCandidates(text).map(candidate)].sort(
    (a, b) => b.fit - a.fit || a.substitutions - b.substitutions || a.changedConfidence - b.changedConfidence,
  );
}
