import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import type { CommandRunner } from '../run-command.js';

/**
 * Credentials made on the gateway itself: the private key never leaves it; the region signs a
 * certificate request. openssl (a run dependency) makes both; EC P-256 is what Mosquitto and
 * every TLS stack on the region's side accept.
 */
export async function createClientKey(run: CommandRunner, keyFile: string): Promise<void> {
  const r = await run('openssl', [
    'genpkey',
    '-algorithm',
    'EC',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-out',
    keyFile,
  ]);
  if (r.code !== 0) throw new Error(`openssl could not create ${keyFile}: ${r.error ?? r.stderr.trim()}`);
}

/** A CSR for the gateway: CN = gateway id (the broker's identity for ACLs), O = zonegate, OU = zone. */
export async function createCsr(
  run: CommandRunner,
  input: { keyFile: string; csrFile: string; gatewayId: string; zone: string },
): Promise<string> {
  const subject = `/CN=${input.gatewayId}/O=zonegate/OU=${input.zone}`;
  const r = await run('openssl', [
    'req',
    '-new',
    '-key',
    input.keyFile,
    '-subj',
    subject,
    '-sha256',
    '-out',
    input.csrFile,
  ]);
  if (r.code !== 0) throw new Error(`openssl could not create ${input.csrFile}: ${r.error ?? r.stderr.trim()}`);
  return subject;
}

/** SHA-256 over the DER public key, as colon-separated hex: what the region compares by phone. */
export function fingerprint(key: KeyObject): string {
  const der = key.export({ type: 'spki', format: 'der' });
  return (createHash('sha256').update(der).digest('hex').match(/../g) ?? []).join(':').toUpperCase();
}

export function publicKeyOfPrivatePem(pem: string): KeyObject {
  return createPublicKey(pem);
}

/**
 * The region's list-signing key from what a technician has at hand: a PEM file, PEM text, or the
 * 32 raw Ed25519 bytes in base64. Anything else (another algorithm, a private key) is refused.
 */
export function parseListSigningKey(value: string): { pem: string; fingerprint: string } {
  let text = value.trim();
  if (!text.includes('-----BEGIN') && existsSync(text)) text = readFileSync(text, 'utf8').trim();
  let key: KeyObject;
  if (text.includes('-----BEGIN')) {
    if (/PRIVATE KEY/.test(text))
      throw new Error("that is a private key: the gateway needs the region's public key only");
    key = createPublicKey(text);
  } else {
    const raw = Buffer.from(text, 'base64');
    if (raw.length !== 32 || raw.toString('base64').replace(/=+$/, '') !== text.replace(/=+$/, ''))
      throw new Error('expected a PEM public key, a file holding one, or 32 bytes of Ed25519 key in base64');
    // SPKI DER prefix of an Ed25519 public key, then the 32 key bytes.
    key = createPublicKey({
      key: Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), raw]),
      format: 'der',
      type: 'spki',
    });
  }
  if (key.asymmetricKeyType !== 'ed25519')
    throw new Error(`the list-signing key must be Ed25519, this one is ${key.asymmetricKeyType ?? 'unknown'}`);
  return { pem: key.export({ type: 'spki', format: 'pem' }).toString(), fingerprint: fingerprint(key) };
}
