import { crc32 } from 'node:zlib';

/**
 * The checksums ANPR cameras put on their lines. Each is computed over bytes and compared as an
 * unsigned integer; `width` is its size in bytes (hex suffixes carry twice as many digits).
 */
export const CHECKSUM_ALGORITHMS = [
  'none',
  'xor',
  'crc16-ccitt',
  'crc16-xmodem',
  'crc16-modbus',
  'crc16-arc',
  'crc32',
] as const;
export type ChecksumAlgorithm = (typeof CHECKSUM_ALGORITHMS)[number];

export interface Checksum {
  readonly algorithm: ChecksumAlgorithm;
  /** Human name for messages, e.g. "CRC-16/CCITT-FALSE". */
  readonly title: string;
  /** Bytes of the value: 1 (XOR), 2 (CRC-16), 4 (CRC-32), 0 (none). */
  readonly width: 0 | 1 | 2 | 4;
  /** Computes over `parts` as if they were one buffer. */
  compute(...parts: readonly Uint8Array[]): number;
}

function crc16Table(poly: number, reflected: boolean): Uint16Array {
  const table = new Uint16Array(256);
  for (let n = 0; n < 256; n++) {
    let c = reflected ? n : n << 8;
    for (let k = 0; k < 8; k++) {
      if (reflected) c = c & 1 ? (c >>> 1) ^ poly : c >>> 1;
      else c = c & 0x8000 ? ((c << 1) ^ poly) & 0xffff : (c << 1) & 0xffff;
    }
    table[n] = c;
  }
  return table;
}

function crc16(algorithm: ChecksumAlgorithm, title: string, poly: number, init: number, reflected: boolean): Checksum {
  const table = crc16Table(reflected ? reflect16(poly) : poly, reflected);
  return {
    algorithm,
    title,
    width: 2,
    compute(...parts) {
      let c = init;
      for (const part of parts) {
        if (reflected) for (let i = 0; i < part.length; i++) c = (c >>> 8) ^ table[(c ^ part[i]!) & 0xff]!;
        else for (let i = 0; i < part.length; i++) c = ((c << 8) & 0xffff) ^ table[((c >>> 8) ^ part[i]!) & 0xff]!;
      }
      return c & 0xffff;
    },
  };
}

function reflect16(v: number): number {
  let r = 0;
  for (let i = 0; i < 16; i++) if (v & (1 << i)) r |= 1 << (15 - i);
  return r;
}

const ALGORITHMS: Record<ChecksumAlgorithm, Checksum> = {
  none: { algorithm: 'none', title: 'none', width: 0, compute: () => 0 },
  xor: {
    algorithm: 'xor',
    title: 'XOR (BCC)',
    width: 1,
    compute(...parts) {
      let x = 0;
      for (const part of parts) for (let i = 0; i < part.length; i++) x ^= part[i]!;
      return x;
    },
  },
  'crc16-ccitt': crc16('crc16-ccitt', 'CRC-16/CCITT-FALSE', 0x1021, 0xffff, false),
  'crc16-xmodem': crc16('crc16-xmodem', 'CRC-16/XMODEM', 0x1021, 0x0000, false),
  'crc16-modbus': crc16('crc16-modbus', 'CRC-16/MODBUS', 0x8005, 0xffff, true),
  'crc16-arc': crc16('crc16-arc', 'CRC-16/ARC', 0x8005, 0x0000, true),
  crc32: {
    algorithm: 'crc32',
    title: 'CRC-32 (IEEE)',
    width: 4,
    compute(...parts) {
      let c = 0;
      for (const part of parts) c = crc32(part, c);
      return c >>> 0;
    },
  },
};

export function checksumOf(algorithm: ChecksumAlgorithm): Checksum {
  return ALGORITHMS[algorithm];
}

/** Upper-case hex with the algorithm's full width (two digits per byte). */
export function checksumHex(value: number, width: number): string {
  return value
    .toString(16)
    .toUpperCase()
    .padStart(width * 2, '0');
}

/** The value as `width` raw bytes in the given byte order. */
export function checksumBytes(value: number, width: number, byteOrder: 'big' | 'little'): Buffer {
  const out = Buffer.alloc(width);
  for (let i = 0; i < width; i++) {
    const shift = 8 * (byteOrder === 'big' ? width - 1 - i : i);
    out[i] = Math.floor(value / 2 ** shift) & 0xff;
  }
  return out;
}

export function readChecksumBytes(bytes: Uint8Array, byteOrder: 'big' | 'little'): number {
  let v = 0;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[byteOrder === 'big' ? i : bytes.length - 1 - i]!;
    v = v * 256 + b;
  }
  return v;
}
