/**
 * Dutch registration formats ("sidecodes"). A sidecode is a pattern of letter (L) and digit (D)
 * groups; the display form joins the groups with dashes. Sidecodes 1–14 cover every series
 * issued since 1951 for passenger cars, vans and trucks.
 */
export interface Sidecode {
  readonly code: number;
  /** Group pattern, e.g. "LL-DD-DD". */
  readonly pattern: string;
  readonly groups: readonly number[];
  readonly regex: RegExp;
}

const PATTERNS: readonly (readonly [number, string])[] = [
  [1, 'LL-DD-DD'],
  [2, 'DD-DD-LL'],
  [3, 'DD-LL-DD'],
  [4, 'LL-DD-LL'],
  [5, 'LL-LL-DD'],
  [6, 'DD-LL-LL'],
  [7, 'DD-LLL-D'],
  [8, 'D-LLL-DD'],
  [9, 'LL-DDD-L'],
  [10, 'L-DDD-LL'],
  [11, 'LLL-DD-L'],
  [12, 'L-DD-LLL'],
  [13, 'D-LL-DDD'],
  [14, 'DDD-LL-D'],
];

export const SIDECODES: readonly Sidecode[] = PATTERNS.map(([code, pattern]) => {
  const groups = pattern.split('-');
  const body = groups.map((g) => (g[0] === 'L' ? `[A-Z]{${g.length}}` : `[0-9]{${g.length}}`)).join('');
  return { code, pattern, groups: groups.map((g) => g.length), regex: new RegExp(`^${body}$`) };
});

/**
 * Letters the RDW issues in current series (no vowels, no C/Q/W, to avoid words and confusion).
 * Older series (sidecodes 1–3) used more letters, so a letter outside this set lowers the fit
 * of a candidate but does not rule it out.
 */
export const ISSUED_LETTERS = new Set('BDFGHJKLMNPRSTVXZ');

/** The sidecode a canonical Dutch plate text matches, or undefined. */
export function sidecodeOf(text: string): Sidecode | undefined {
  if (text.length !== 6) return undefined;
  for (const s of SIDECODES) if (s.regex.test(text)) return s;
  return undefined;
}

/**
 * How well a text fits Dutch registration rules: 0 no sidecode; 1 sidecode with letters outside the
 * issued set; 2 sidecode with issued letters only.
 */
export function sidecodeFit(text: string): 0 | 1 | 2 {
  const s = sidecodeOf(text);
  if (!s) return 0;
  for (const ch of text) if (ch >= 'A' && ch <= 'Z' && !ISSUED_LETTERS.has(ch)) return s.code <= 3 ? 2 : 1;
  return 2;
}

/** Display form with the sidecode's dashes ("96LKH9" → "96-LKH-9"); unchanged when no sidecode fits. */
export function formatDutch(text: string): string {
  const s = sidecodeOf(text);
  if (!s) return text;
  const parts: string[] = [];
  let at = 0;
  for (const n of s.groups) {
    parts.push(text.slice(at, at + n));
    at += n;
  }
  return parts.join('-');
}
