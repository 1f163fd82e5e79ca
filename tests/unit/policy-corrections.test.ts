import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CONFUSION_CLASSES, correctionCandidates, rankCandidates } from '../../src/plate/confusions.js';
import { sidecodeOf } from '../../src/plate/sidecodes.js';
import { parseWindows } from '../../src/policy/windows.js';

/** The slow, obvious definition: every substitution within the confusion classes that fits a sidecode. */
function bruteForceCorrections(text: string): string[] {
  let texts = [''];
  for (const ch of text) {
    const cls = CONFUSION_CLASSES.find((c) => c.includes(ch)) ?? ch;
    texts = texts.flatMap((t) => [...cls].map((c) => t + c));
  }
  return texts.filter((t) => t !== text && sidecodeOf(t) !== undefined);
}

describe('OCR corrections used by decide()', () => {
  const plateChar = fc.constantFrom(...'0123456789ABDGHIJKLMNOPRSTVXZ'.split(''));

  it('are exactly the confusion substitutions that fit a sidecode (without the read)', () => {
    fc.assert(
      fc.property(fc.array(plateChar, { minLength: 6, maxLength: 6 }), (chars) => {
        const text = chars.join('');
        expect(correctionCandidates(text).sort()).toEqual(bruteForceCorrections(text).sort());
        // The ranking offers the read itself and exactly these.
        expect(
          rankCandidates(text)
            .map((c) => c.text)
            .sort(),
        ).toEqual([text, ...bruteForceCorrections(text)].sort());
      }),
      { numRuns: 3000 },
    );
  });

  it('a read of another length than six has no corrections', () => {
    expect(correctionCandidates('AB12C')).toEqual([]);
    expect(correctionCandidates('AB12CDE')).toEqual([]);
  });
});

describe('the windows format of grants lists', () => {
  it('reads day ranges, lists, daily and past-midnight windows', () => {
    expect(parseWindows('mon-fri 07:00-11:00; sat,sun 22:00-02:00; daily 00:00-24:00')).toEqual([
      { days: [1, 2, 3, 4, 5], fromMinute: 420, untilMinute: 660 },
      { days: [6, 7], fromMinute: 1320, untilMinute: 120 },
      { days: [1, 2, 3, 4, 5, 6, 7], fromMinute: 0, untilMinute: 1440 },
    ]);
    expect(parseWindows('sat-mon 08:00-09:00')).toEqual([{ days: [1, 6, 7], fromMinute: 480, untilMinute: 540 }]);
  });

  it('names what is wrong in a window', () => {
    expect(parseWindows('mon-fry 07:00-11:00')).toMatch(/"fry" is not a day/);
    expect(parseWindows('mon 07:00-07:00')).toMatch(/is empty/);
    expect(parseWindows('mon 25:00-26:00')).toMatch(/"25:00" is not a time/);
    expect(parseWindows('07:00-11:00')).toMatch(/is not "DAYS HH:MM-HH:MM"/);
  });
});
