import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/**
 * Who may see the status page: a request carrying the configured token (as a bearer token, for
 * Prometheus and curl, or as the session cookie the login form sets). Without a configured token
 * only clients on the gateway itself (loopback) are served: a page full of plates must never be
 * open to whoever plugs into the cabinet's switch.
 */
export const SESSION_COOKIE = 'zg_status';

export type AuthResult = { ok: true } | { ok: false; why: 'no-credentials' | 'bad-credentials' | 'no-token-remote' };

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/** Constant-time comparison that does not leak the length either. */
export function sameSecret(a: string, b: string): boolean {
  return timingSafeEqual(digest(a), digest(b));
}

/** The cookie value: derived from the token, so changing the token ends every session. */
export function sessionValue(token: string): string {
  return createHmac('sha256', token).update('zonegate-status-session-v1').digest('base64url');
}

export function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  const a = address.startsWith('::ffff:') ? address.slice(7) : address;
  return a === '::1' || /^127\.\d+\.\d+\.\d+$/.test(a);
}

export function parseCookies(header: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of (header ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0) out.set(part.slice(0, i).trim(), part.slice(i + 1).trim());
  }
  return out;
}

export function authorize(req: IncomingMessage, token: string | undefined): AuthResult {
  if (token === undefined) {
    return isLoopback(req.socket.remoteAddress) ? { ok: true } : { ok: false, why: 'no-token-remote' };
  }
  const header = req.headers.authorization;
  if (header) {
    const m = /^Bearer\s+(.+)$/i.exec(header.trim());
    return m && sameSecret(m[1]!, token) ? { ok: true } : { ok: false, why: 'bad-credentials' };
  }
  const cookie = parseCookies(req.headers.cookie).get(SESSION_COOKIE);
  if (cookie !== undefined)
    return sameSecret(cookie, sessionValue(token)) ? { ok: true } : { ok: false, why: 'bad-credentials' };
  return { ok: false, why: 'no-credentials' };
}

/** Failed logins per client address; after `max` in `windowMs` the address waits. */
export class LoginThrottle {
  readonly #failures = new Map<string, number[]>();
  constructor(
    private readonly max = 10,
    private readonly windowMs = 60_000,
  ) {}

  blocked(address: string, now: number): boolean {
    const recent = (this.#failures.get(address) ?? []).filter((t) => now - t < this.windowMs);
    if (recent.length === 0) this.#failures.delete(address);
    else this.#failures.set(address, recent);
    return recent.length >= this.max;
  }

  fail(address: string, now: number): void {
    const list = this.#failures.get(address) ?? [];
    list.push(now);
    this.#failures.set(address, list);
    // Bounded: a scan from many addresses must not grow memory without limit.
    if (this.#failures.size > 1000) this.#failures.delete(this.#failures.keys().next().value!);
  }

  succeed(address: string): void {
    this.#failures.delete(address);
  }
}
