import { ISSUED_LETTERS, SIDECODES, type Sidecode } from '../plate/sidecodes.js';

/**
 * Turns the reader network's per-column class probabilities into a plate text with per-character
 * confidences. The network is a CTC reader: each of its columns scores blank, 0–9, A–Z and the
 * dash. Greedy decoding gives the characters; the sidecode templates then settle what the network
 * cannot see alone (0/O, 8/B, 5/S, 2/Z, 1/I, 6/G): each Dutch sidecode fixes which positions hold
 * letters and which digits. Each template is aligned with the columns (a CTC Viterbi path
 * through its letter, digit, blank and optional dash states), which decides the letter/digit
 * choice and where each character lies together, and also mends a greedy read with one character
 * too many or too few (a character smeared over two, a faint one lost in the blanks); the best
 * alignment wins. Not seeing a dash on a group boundary costs a little. Characters the alignment
 * had to add keep the low confidence the network gave them.
 */
export const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-';
const BLANK = 0;
const DASH = ALPHABET.indexOf('-') + 1;
const NUM_CLASSES = ALPHABET.length + 1;

export interface DecodedPlate {
  /** What the network read, dashes included ("96-LKH-9"). */
  readonly raw: string;
  /** Canonical text (A–Z0–9) after sidecode resolution; the raw characters when no sidecode fits. */
  readonly text: string;
  /** The Dutch sidecode the text fits, if any. */
  readonly sidecode: number | undefined;
  /** 0–1000 per character of `text`: the network's probability of that very character. */
  readonly charConfidences: readonly number[];
  /** 0–1000: see plateConfidence; lowered when the dashes contradict the sidecode. */
  readonly confidence: number;
  /** Characters that the sidecode template changed from the network's first choice. */
  readonly corrected: number;
}

interface Emitted {
  /** Class index 1..37 of the emitted symbol. */
  readonly cls: number;
  /** Column whose distribution stands for the symbol (its most confident column). */
  readonly column: number;
}

const LETTERS = [...'ABCDEFGHIJKLMNOPQRSTUVWXYZ'].map((c) => ALPHABET.indexOf(c) + 1);
const ISSUED = [...ISSUED_LETTERS].map((c) => ALPHABET.indexOf(c) + 1);
const DIGITS = [...'0123456789'].map((c) => ALPHABET.indexOf(c) + 1);
const BLANK_SET = [BLANK];
const DASH_SET = [DASH];

/** Factor on the plate probability for each group boundary where the network saw no dash. */
const DASH_MISSING = 0.8;

/**
 * Decodes one crop. `probs` holds `columns` x 38 softmax outputs, row-major. Returns undefined
 * when the network saw nothing (only blanks).
 */
export function decodeColumns(
  probs: Float32Array | readonly number[],
  columns: number,
  offset = 0,
): DecodedPlate | undefined {
  const at = (t: number, k: number): number => probs[offset + t * NUM_CLASSES + k]!;
  const emitted: Emitted[] = [];
  let prev = BLANK;
  for (let t = 0; t < columns; t++) {
    let best = 0;
    for (let k = 1; k < NUM_CLASSES; k++) if (at(t, k) > at(t, best)) best = k;
    if (best !== BLANK) {
      if (best !== prev) emitted.push({ cls: best, column: t });
      else {
        const last = emitted[emitted.length - 1]!;
        if (at(t, best) > at(last.column, best)) emitted[emitted.length - 1] = { cls: best, column: t };
      }
    }
    prev = best;
  }
  if (emitted.length === 0) return undefined;
  const raw = emitted.map((e) => ALPHABET[e.cls - 1]).join('');
  const chars = emitted.filter((e) => e.cls !== DASH);
  const firstChoice = chars.map((e) => ALPHABET[e.cls - 1]!).join('');
  const firstConf = chars.map((e) => Math.round(at(e.column, e.cls) * 1000));
  const asRead = (): DecodedPlate => ({
    raw,
    text: firstChoice,
    sidecode: undefined,
    charConfidences: firstConf,
    confidence: plateConfidence(firstConf),
    corrected: 0,
  });
  // Five to seven characters: one more or fewer than the six every Dutch sidecode has (a
  // character smeared over two, a faint one lost in the blanks), or six. Each template is aligned
  // with the columns, so the letter/digit choice of each position and the characters' extent are
  // decided together; the best alignment wins.
  if (chars.length >= 5 && chars.length <= 7) return alignToSidecodes(at, columns, raw) ?? asRead();
  return asRead();
}

/** A state of a sidecode template's CTC graph, with the states it can be entered from (and at what log cost). */
interface State {
  readonly kind: 'blank' | 'char' | 'dash';
  readonly allowed: readonly number[];
  readonly preds: readonly { readonly from: number; readonly w: number }[];
}

/**
 * Best CTC alignment of each sidecode template with the columns: states blank, character
 * (any letter or digit the template allows there), blank, ..., with an optional dash state
 * between groups (not seeing a dash costs DASH_MISSING, as in the greedy path). Each character
 * then takes the class of its template position with the highest summed log-probability over
 * the columns aligned to it.
 */
function alignToSidecodes(
  at: (t: number, k: number) => number,
  columns: number,
  raw: string,
): DecodedPlate | undefined {
  const log = (x: number): number => Math.log(Math.max(x, 1e-9));
  const logMissing = Math.log(DASH_MISSING);
  // Best class of each allowed set per column, computed once for all templates.
  const bestIn = new Map<readonly number[], Int8Array>();
  for (const set of [LETTERS, ISSUED, DIGITS, BLANK_SET, DASH_SET]) {
    const arg = new Int8Array(columns);
    for (let t = 0; t < columns; t++) {
      let m = set[0]!;
      for (const k of set) if (at(t, k) > at(t, m)) m = k;
      arg[t] = m;
    }
    bestIn.set(set, arg);
  }
  let best:
    { s: Sidecode; score: number; picks: number[]; conf: number[]; missing: number; corrected: number } | undefined;
  for (const s of SIDECODES) {
    const states: State[] = [{ kind: 'blank', allowed: BLANK_SET, preds: [] }];
    const charStates: number[] = [];
    let lastChar = -1;
    let lastBlank = 0;
    const groups = s.pattern.split('-');
    groups.forEach((group, g) => {
      const allowed = group[0] === 'L' ? (s.code <= 3 ? LETTERS : ISSUED) : DIGITS;
      let dash = -1;
      let dashBlank = -1;
      if (g > 0) {
        dash =
          states.push({
            kind: 'dash',
            allowed: DASH_SET,
            preds: [
              { from: lastChar, w: 0 },
              { from: lastBlank, w: 0 },
            ],
          }) - 1;
        dashBlank = states.push({ kind: 'blank', allowed: BLANK_SET, preds: [{ from: dash, w: 0 }] }) - 1;
      }
      for (let i = 0; i < group.length; i++) {
        const preds =
          lastChar < 0
            ? [{ from: 0, w: 0 }]
            : i === 0
              ? [
                  { from: dashBlank, w: 0 },
                  { from: dash, w: 0 },
                  { from: lastChar, w: logMissing },
                  { from: lastBlank, w: logMissing },
                ]
              : [
                  { from: lastBlank, w: 0 },
                  { from: lastChar, w: 0 },
                ];
        lastChar = states.push({ kind: 'char', allowed, preds }) - 1;
        charStates.push(lastChar);
        lastBlank = states.push({ kind: 'blank', allowed: BLANK_SET, preds: [{ from: lastChar, w: 0 }] }) - 1;
      }
    });
    const S = states.length;
    const argAllowed = (t: number, st: State): number => bestIn.get(st.allowed)![t]!;
    const emit = (t: number, st: State): number => log(at(t, argAllowed(t, st)));
    let prev = new Float64Array(S).fill(-Infinity);
    const back = new Int16Array(columns * S).fill(-1);
    prev[0] = emit(0, states[0]!);
    const first = charStates[0]!;
    prev[first] = emit(0, states[first]!);
    for (let t = 1; t < columns; t++) {
      const cur = new Float64Array(S).fill(-Infinity);
      for (let j = 0; j < S; j++) {
        const st = states[j]!;
        let m = prev[j]!;
        let from = j;
        for (const p of st.preds) {
          // CTC: two characters without a blank between them differ (else they are one).
          if (
            st.kind === 'char' &&
            states[p.from]!.kind === 'char' &&
            argAllowed(t - 1, states[p.from]!) === argAllowed(t, st)
          )
            continue;
          const v = prev[p.from]! + p.w;
          if (v > m) [m, from] = [v, p.from];
        }
        if (m === -Infinity) continue;
        cur[j] = m + emit(t, st);
        back[t * S + j] = from;
      }
      prev = cur;
    }
    let end = prev[lastBlank]! >= prev[lastChar]! ? lastBlank : lastChar;
    const score = prev[end]!;
    if (score === -Infinity) continue;
    // Walk back: the columns of each character state, and the dashes skipped on the way.
    const colsOf = new Map<number, number[]>(charStates.map((c) => [c, []]));
    let missing = 0;
    for (let t = columns - 1; t >= 0; t--) {
      colsOf.get(end)?.push(t);
      const from = t > 0 ? back[t * S + end]! : end;
      if (from !== end && (states[end]!.preds.find((p) => p.from === from)?.w ?? 0) < 0) missing++;
      end = from;
    }
    const picks: number[] = [];
    const conf: number[] = [];
    let corrected = 0;
    for (const c of charStates) {
      const cols = colsOf.get(c)!;
      let pick = states[c]!.allowed[0]!;
      let pickScore = -Infinity;
      for (const k of states[c]!.allowed) {
        let sum = 0;
        for (const t of cols) sum += log(at(t, k));
        if (sum > pickScore) [pick, pickScore] = [k, sum];
      }
      let p = 0;
      let column = cols[0] ?? 0;
      for (const t of cols) if (at(t, pick) > p) [p, column] = [at(t, pick), t];
      picks.push(pick);
      conf.push(Math.round(p * 1000));
      let argmax = 0;
      for (let k = 1; k < NUM_CLASSES; k++) if (at(column, k) > at(column, argmax)) argmax = k;
      if (argmax !== pick) corrected++;
    }
    if (!best || score > best.score) best = { s, score, picks, conf, missing, corrected };
  }
  if (!best) return undefined;
  return {
    raw,
    text: best.picks.map((k) => ALPHABET[k - 1]!).join(''),
    sidecode: best.s.code,
    charConfidences: best.conf,
    confidence: Math.round(plateConfidence(best.conf) * DASH_MISSING ** best.missing),
    corrected: best.corrected,
  };
}

/**
 * Plate confidence from character confidences: their geometric mean, capped at twice the weakest
 * character, so one character the network did not really see cannot hide behind five clear ones.
 */
export function plateConfidence(confidences: readonly number[]): number {
  if (confidences.length === 0) return 0;
  let s = 0;
  let min = 1000;
  for (const c of confidences) {
    s += Math.log(Math.max(c, 1) / 1000);
    if (c < min) min = c;
  }
  return Math.round(Math.min(1000 * Math.exp(s / confidences.length), 2 * min));
}
