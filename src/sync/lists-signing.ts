import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  sign,
  verify,
  type KeyObject,
} from 'node:crypto';
import { readFileSync } from 'node:fs';

/**
 * Ed25519 keys of the region (node:crypto). The gateway holds the region's public key(s) — more
 * than one during a key rotation — and names each by a key id: the first 16 hex digits of the
 * SHA-256 of its SPKI encoding.
 */
export function keyIdOf(key: KeyObject): string {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  return createHash('sha256')
    .update(pub.export({ type: 'spki', format: 'der' }))
    .digest('hex')
    .slice(0, 16);
}

export class KeyFileError extends Error {
  override name = 'KeyFileError';
}

/** An Ed25519 key from a PEM file; every failure names the file and what is wrong with it. */
function loadEd25519Key(file: string, type: 'public' | 'private'): KeyObject {
  let pem: string;
  try {
    pem = readFileSync(file, 'utf8');
  } catch (err) {
    throw new KeyFileError(`${file}: cannot read (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  let key: KeyObject;
  try {
    key = type === 'public' ? createPublicKey(pem) : createPrivateKey(pem);
  } catch {
    throw new KeyFileError(`${file}: not a PEM ${type} key`);
  }
  if (key.asymmetricKeyType !== 'ed25519')
    throw new KeyFileError(`${file}: an ${key.asymmetricKeyType ?? 'unknown'} key; the lists are signed with Ed25519`);
  return key;
}

export function loadPublicKey(file: string): KeyObject {
  return loadEd25519Key(file, 'public');
}

export function loadPrivateKey(file: string): KeyObject {
  return loadEd25519Key(file, 'private');
}

/** The trusted keys by key id. */
export function loadPublicKeys(files: readonly string[]): Map<string, KeyObject> {
  const keys = new Map<string, KeyObject>();
  for (const f of files) {
    const k = loadPublicKey(f);
    keys.set(keyIdOf(k), k);
  }
  return keys;
}

export function generateRegionKeys(): { publicPem: string; privatePem: string } {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  return {
    publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    privatePem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
}

function signedBytes(type: string, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`zonegate-lists-v1:${type}\n`, 'utf8'), body]);
}

export function signBody(type: 'snapshot' | 'delta', body: Buffer, key: KeyObject): { keyId: string; sig: string } {
  return { keyId: keyIdOf(key), sig: sign(null, signedBytes(type, body), key).toString('base64') };
}

export type VerifyResult = 'ok' | 'unknown-key' | 'bad-signature';

export function verifyBody(
  type: 'snapshot' | 'delta',
  body: Buffer,
  keyId: string,
  sig: string,
  keys: ReadonlyMap<string, KeyObject>,
): VerifyResult {
  const key = keys.get(keyId);
  if (!key) return 'unknown-key';
  return verify(null, signedBytes(type, body), key, Buffer.from(sig, 'base64')) ? 'ok' : 'bad-signature';
}
