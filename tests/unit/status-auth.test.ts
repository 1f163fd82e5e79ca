import type { IncomingMessage } from 'node:http';
import { describe, expect, test } from 'vitest';
import { LoginThrottle, SESSION_COOKIE, authorize, isLoopback, sessionValue } from '../../src/ops/status-auth.js';

function request(remoteAddress: string, headers: Record<string, string> = {}): IncomingMessage {
  return { socket: { remoteAddress }, headers } as unknown as IncomingMessage;
}

const TOKEN = 'cabinet-token-0123456789';

describe('who may see the status page', () => {
  test('without a configured token only the gateway itself (loopback) is served', () => {
    expect(authorize(request('127.0.0.1'), undefined)).toEqual({ ok: true });
    expect(authorize(request('::1'), undefined)).toEqual({ ok: true });
    expect(authorize(request('::ffff:127.0.0.1'), undefined)).toEqual({ ok: true });
    expect(authorize(request('192.168.1.20'), undefined)).toEqual({ ok: false, why: 'no-token-remote' });
    expect(authorize(request('::ffff:10.0.0.5'), undefined)).toEqual({ ok: false, why: 'no-token-remote' });
  });

  test('with a token, even loopback clients must present it', () => {
    expect(authorize(request('127.0.0.1'), TOKEN)).toEqual({ ok: false, why: 'no-credentials' });
  });

  test('a bearer token or the session cookie admits; a wrong one is refused', () => {
    expect(authorize(request('10.0.0.5', { authorization: `Bearer ${TOKEN}` }), TOKEN)).toEqual({ ok: true });
    expect(authorize(request('10.0.0.5', { authorization: `Bearer ${TOKEN}x` }), TOKEN).ok).toBe(false);
    expect(authorize(request('10.0.0.5', { authorization: `Basic ${TOKEN}` }), TOKEN).ok).toBe(false);
    const cookie = `${SESSION_COOKIE}=${sessionValue(TOKEN)}`;
    expect(authorize(request('10.0.0.5', { cookie: `theme=dark; ${cookie}` }), TOKEN)).toEqual({ ok: true });
    // The cookie is derived from the token, so changing the token ends every session.
    expect(authorize(request('10.0.0.5', { cookie }), `${TOKEN}-new`).ok).toBe(false);
    // The raw token is not a valid cookie: a cookie leaked from a browser does not reveal the token.
    expect(authorize(request('10.0.0.5', { cookie: `${SESSION_COOKIE}=${TOKEN}` }), TOKEN).ok).toBe(false);
  });

  test('after ten wrong tokens in a minute an address has to wait; others are not affected', () => {
    const t = new LoginThrottle(10, 60_000);
    for (let i = 0; i < 10; i++) t.fail('10.0.0.5', 1_000 + i);
    expect(t.blocked('10.0.0.5', 2_000)).toBe(true);
    expect(t.blocked('10.0.0.6', 2_000)).toBe(false);
    expect(t.blocked('10.0.0.5', 61_010)).toBe(false);
    expect(isLoopback(undefined)).toBe(false);
  });
});
