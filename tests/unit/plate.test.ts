import { describe, expect, test } from 'vitest';
import {
  canonicalText,
  confusionClassKey,
  displayPlate,
  formatDutch,
  plateKey,
  rankCandidates,
  sidecodeOf,
} from '../../src/plate/index.js';

describe('canonical plate key', () => {
  test.each([
    ['96-lkh-9', '96LKH9'],
    [' 28 RBN 4 ', '28RBN4'],
    ['GB·12–34', 'GB1234'],
  ])('"%s" becomes "%s"', (raw, text) => {
    expect(canonicalText(raw)).toBe(text);
  });

  test('a plate without a country is Dutch; a foreign country code is kept', () => {
    expect(plateKey('96-LKH-9')).toEqual({ text: '96LKH9', country: 'NL' });
    expect(plateKey('B-AB 1234', 'de')).toEqual({ text: 'BAB1234', country: 'DE' });
  });

  test('nothing plate-like or a bad country code gives no key', () => {
    expect(plateKey('--')).toBeUndefined();
    expect(plateKey('ABC123', 'NLD')).toBeUndefined();
    expect(plateKey('A'.repeat(13))).toBeUndefined();
  });
});

describe('Dutch sidecodes', () => {
  // One real-format example per sidecode 1–14, displayed with its dashes.
  test.each([
    [1, 'AB1234', 'AB-12-34'],
    [2, '1234AB', '12-34-AB'],
    [3, '12AB34', '12-AB-34'],
    [4, 'AB12CD', 'AB-12-CD'],
    [5, 'ABCD12', 'AB-CD-12'],
    [6, '12ABCD', '12-AB-CD'],
    [7, '96LKH9', '96-LKH-9'],
    [8, '1KBB23', '1-KBB-23'],
    [9, 'GB123D', 'GB-123-D'],
    [10, 'G123BB', 'G-123-BB'],
    [11, 'GBB12D', 'GBB-12-D'],
    [12, 'G12BBD', 'G-12-BBD'],
    [13, '1GB234', '1-GB-234'],
    [14, '123GB4', '123-GB-4'],
  ])('sidecode %i: %s is shown as %s', (code, text, shown) => {
    expect(sidecodeOf(text)?.code).toBe(code);
    expect(formatDutch(text)).toBe(shown);
    expect(displayPlate({ text, country: 'NL' })).toBe(shown);
  });

  test('texts that fit no sidecode are shown unchanged', () => {
    expect(sidecodeOf('ABC1234')).toBeUndefined();
    expect(sidecodeOf('123456')).toBeUndefined();
    expect(formatDutch('A1B2C3')).toBe('A1B2C3');
    expect(displayPlate({ text: 'BAB1234', country: 'DE' })).toBe('BAB1234');
  });
});

describe('OCR confusion candidates', () => {
  test('a read that fits no sidecode is corrected to the one that does, with one substitution', () => {
    // 96-LKH-9 with its 6 misread as G: DLLLLD fits no sidecode; G → 6 restores sidecode 7.
    const c = rankCandidates('9GLKH9');
    expect(c[0]).toMatchObject({ text: '96LKH9', substitutions: 1, fit: 2, sidecode: 7 });
    expect(c.at(-1)).toMatchObject({ text: '9GLKH9', fit: 0 });
  });

  test('a letter the RDW issues ranks above one it does not (D before O for a misread 0)', () => {
    const c = rankCandidates('96L0H9');
    expect(c[0]!.text).toBe('96LDH9');
    expect(c.map((x) => x.text)).toContain('96LOH9');
  });

  test('the read itself comes first when it already fits a sidecode cleanly', () => {
    const c = rankCandidates('96LKH9');
    expect(c[0]).toMatchObject({ text: '96LKH9', substitutions: 0, fit: 2, sidecode: 7 });
  });

  test('among equal fits, changing the least confident character ranks first', () => {
    // Sidecode 1 needs two letters first: the misread "8" becomes "B".
    const c = rankCandidates('G81234', [900, 200, 900, 900, 900, 900]);
    expect(c[0]!.text).toBe('GB1234');
    const d = rankCandidates('GB12Z4', [900, 900, 900, 900, 100, 900]);
    expect(d.find((x) => x.substitutions === 1)?.text).toBe('GB1224');
  });

  test('reads of one vehicle that differ only by confusable characters share a class key', () => {
    expect(confusionClassKey('GB1234')).toBe(confusionClassKey('G81234'));
    expect(confusionClassKey('SO12DZ')).toBe(confusionClassKey('5012O2'));
    expect(confusionClassKey('GB1234')).not.toBe(confusionClassKey('GB1235'));
  });

  test('non-Dutch-length texts are not varied', () => {
    expect(rankCandidates('BAB1234')).toHaveLength(1);
  });
});
