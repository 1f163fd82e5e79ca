import { formatDutch } from './sidecodes.js';

/** The canonical identity of a plate: A–Z0–9 without separators, plus ISO 3166-1 alpha-2 country. */
export interface PlateKey {
  readonly text: string;
  readonly country: string;
}

export const DEFAULT_COUNTRY = 'NL';

const NOT_ALNUM = /[^A-Z0-9]/g;
const COUNTRY = /^[A-Z]{2}$/;

/** Upper-cases and strips separators, spaces and anything outside A–Z0–9 ("96-lkh-9" → "96LKH9"). */
export function canonicalText(raw: string): string {
  return raw.toUpperCase().replace(NOT_ALNUM, '');
}

export function isCountryCode(value: string): boolean {
  return COUNTRY.test(value);
}

/**
 * Builds a key from what a camera reported. Returns undefined when nothing plate-like remains or
 * the country is not an ISO alpha-2 code, so the caller can count and report the rejection.
 */
export function plateKey(raw: string, country: string = DEFAULT_COUNTRY): PlateKey | undefined {
  const text = canonicalText(raw);
  const cc = country.trim().toUpperCase() || DEFAULT_COUNTRY;
  if (text.length < 1 || text.length > 12 || !isCountryCode(cc)) return undefined;
  return { text, country: cc };
}

/** One string per key, for maps and logs: "NL:96LKH9". */
export function keyString(key: PlateKey): string {
  return `${key.country}:${key.text}`;
}

/** What a technician reads: Dutch plates with sidecode dashes, others as canonical text. */
export function displayPlate(key: PlateKey): string {
  return key.country === 'NL' ? formatDutch(key.text) : key.text;
}
