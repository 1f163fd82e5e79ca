import { UsageError } from './main.js';

/** How a serial camera frames each character; cameras almost always use 8N1. */
export interface SerialFrame {
  readonly dataBits: 7 | 8;
  readonly parity: 'none' | 'even' | 'odd';
  readonly stopBits: 1 | 2;
}

/** The options `--data-bits`, `--parity` and `--stop-bits` (as commander gives them) checked. */
export function serialFrame(flags: {
  readonly dataBits: string;
  readonly parity: string;
  readonly stopBits: string;
}): SerialFrame {
  const dataBits = Number(flags.dataBits);
  const stopBits = Number(flags.stopBits);
  const { parity } = flags;
  if (dataBits !== 7 && dataBits !== 8) throw new UsageError(`--data-bits: expected 7 or 8, got "${flags.dataBits}"`);
  if (stopBits !== 1 && stopBits !== 2) throw new UsageError(`--stop-bits: expected 1 or 2, got "${flags.stopBits}"`);
  if (parity !== 'none' && parity !== 'even' && parity !== 'odd')
    throw new UsageError(`--parity: expected none, even or odd, got "${parity}"`);
  return { dataBits, parity, stopBits };
}

/** A `--baud` value: whole bits per second (a capture's header, and the site profile, hold no fractions). */
export function baudRate(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n <= 0) throw new UsageError(`--baud: expected a positive whole number, got "${text}"`);
  return n;
}
