import { createHmac, randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { DateTime } from 'luxon';
import type { JournalEntryInput } from './types.js';

export type HashRotation = 'daily' | 'weekly' | 'monthly';

/**
 * The period a plate hash belongs to, in Europe/Amsterdam: '2026-03-29' (daily), '2026-W13'
 * (weekly, ISO week), '2026-03' (monthly). It is published with each hash as its key id, so the
 * region can tell which hashes are comparable, and reveals nothing but the period.
 */
export function hashPeriod(at: number, rotation: HashRotation): string {
  const t = DateTime.fromMillis(at, { zone: 'Europe/Amsterdam' });
  switch (rotation) {
    case 'daily':
      return t.toFormat('yyyy-LL-dd');
    case 'weekly':
      return `${t.toFormat('kkkk')}-W${t.toFormat('WW')}`;
    case 'monthly':
      return t.toFormat('yyyy-LL');
  }
}

export interface PlateHash {
  /** 40 hex characters (160 bits of HMAC-SHA256): fits iotsignals' kentekenHash. */
  readonly hash: string;
  readonly keyId: string;
}

export interface PlateHasher {
  hash(plate: string, country: string, at: number): PlateHash;
}

/**
 * Keyed hash of a plate: HMAC-SHA256 under a period key derived from the zone's shared secret, so
 * every gateway of a zone gives the same hash for one vehicle within a period (in and out can be
 * matched) and nobody without the secret can test a plate against it. Rotation makes hashes of
 * different periods unlinkable for anyone who does not hold the secret.
 */
export function createPlateHasher(options: { secret: Buffer; rotation: HashRotation }): PlateHasher {
  if (options.secret.length < 16) throw new Error('plate-hash secret must be at least 16 bytes');
  let cachedPeriod = '';
  let cachedKey = Buffer.alloc(0);
  return {
    hash(plate, country, at) {
      const keyId = hashPeriod(at, options.rotation);
      if (keyId !== cachedPeriod) {
        cachedKey = createHmac('sha256', options.secret).update(`zonegate plate-hash v1|${keyId}`).digest();
        cachedPeriod = keyId;
      }
      const hash = createHmac('sha256', cachedKey)
        .update(`${country.toUpperCase()}:${plate.toUpperCase()}`)
        .digest('hex')
        .slice(0, 40);
      return { hash, keyId };
    },
  };
}

/**
 * Reads the zone's plate-hash secret (hex or base64 text, or raw bytes), creating a random one
 * (mode 0600) when the file does not exist yet. The region provisions the same file on every
 * gateway of a zone when it wants hashes that match across entrances.
 */
export function loadOrCreateHashSecret(file: string): Buffer {
  try {
    return readHashSecret(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const secret = randomBytes(32);
  writeFileSync(file, `${secret.toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
  chmodSync(file, 0o600);
  return secret;
}

/** Reads an existing plate-hash secret (as loadOrCreateHashSecret); a missing file is an error. */
export function readHashSecret(file: string): Buffer {
  const text = readFileSync(file);
  const s = text.toString('utf8').trim();
  if (/^[0-9a-fA-F]{32,}$/.test(s) && s.length % 2 === 0) return Buffer.from(s, 'hex');
  if (/^[A-Za-z0-9+/]{22,}={0,2}$/.test(s)) return Buffer.from(s, 'base64');
  return text;
}

/** Fields of a passage payload that identify the vehicle directly. */
const IDENTIFYING = ['plate', 'display', 'readText', 'imageRef', 'alternatives', 'charConfidences'] as const;

/**
 * The journal's seal: a `passage` entry (allowed, denied or manual — the vehicle committed no
 * offence) is stored and sent with the keyed hash of its plate instead of the plate, the display
 * form, the raw read and the image reference. A `violation` keeps them: enforcement needs them.
 */
export function pseudonymisePassages(hasher: PlateHasher): (entry: JournalEntryInput) => JournalEntryInput {
  return (entry) => {
    if (entry.type !== 'passage') return entry;
    const p = entry.payload;
    const plate = typeof p['plate'] === 'string' ? p['plate'] : undefined;
    if (plate === undefined && IDENTIFYING.every((k) => !(k in p))) return entry;
    const country = typeof p['country'] === 'string' ? p['country'] : 'NL';
    const payload: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(p)) {
      if (!(IDENTIFYING as readonly string[]).includes(k)) payload[k] = v;
    }
    if (plate !== undefined) {
      const h = hasher.hash(plate, country, entry.at);
      payload['plateHash'] = h.hash;
      payload['plateHashKey'] = h.keyId;
    }
    return { ...entry, payload };
  };
}
