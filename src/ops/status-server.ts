import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { networkInterfaces } from 'node:os';
import type { Registry } from 'prom-client';
import type { StatusConfig } from '../config/schema.js';
import { systemClock, type Clock, type TimerHandle } from '../shared/clock.js';
import type { Lifecycle } from '../shared/lifecycle.js';
import type { Logger } from '../shared/log.js';
import { counter, gauge } from '../shared/metrics.js';
import type { Health } from './health.js';
import { authorize, LoginThrottle, SESSION_COOKIE, sessionValue, sameSecret } from './status-auth.js';
import type { StatusSource } from './status-model.js';
import { loginHtml, noTokenHtml, pageCss, pageHtml, pageJs } from './status-page.js';

export interface StatusServerDeps {
  readonly config: StatusConfig;
  readonly registry: Registry;
  readonly statusSource: StatusSource;
  readonly log: Logger;
  /** For /health; without it /health answers 200 while the process serves requests. */
  readonly health?: Health;
  readonly clock?: Clock;
  /** How often every open page gets a full snapshot (ages, health); default 10 s. */
  readonly resyncMs?: number;
  /** Retry interval while the configured interface has no address yet; default 10 s. */
  readonly bindRetryMs?: number;
}

export interface StatusServer extends Lifecycle {
  /** Where it listens, once bound (undefined while waiting for the interface). */
  address(): { host: string; port: number } | undefined;
}

const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
} as const;

/** Largest body the login form may send. */
const MAX_FORM_BYTES = 4096;
/** A page that stops reading is dropped once this much is queued for it. */
const MAX_SSE_BACKLOG_BYTES = 1 << 20;

/**
 * Resolves `status.listen`: an IP address as is, or a network interface name (eth0) to that
 * interface's first IPv4 address (else IPv6). Undefined while the interface has no address, e.g.
 * the technician's cable is not plugged in yet.
 */
export function resolveListen(listen: string): string | undefined {
  if (/^[\d.]+$/.test(listen) || listen.includes(':') || listen === 'localhost') return listen;
  const addrs = networkInterfaces()[listen];
  if (!addrs || addrs.length === 0) return undefined;
  const v4 = addrs.find((a) => a.family === 'IPv4');
  const pick = v4 ?? addrs[0]!;
  return pick.family === 'IPv6' && pick.scopeid ? `${pick.address}%${listen}` : pick.address;
}

/**
 * The gateway's local status page, its live event stream, /metrics and /health.
 *
 * /health answers everyone with nothing but ok / degraded / failing (for monitoring and load
 * balancers); every route that shows data (the page, /api/*, /metrics) needs the token.
 */
export function createStatusServer(deps: StatusServerDeps): StatusServer {
  const clock = deps.clock ?? systemClock;
  const token = deps.config.token;
  const throttle = new LoginThrottle();
  const sseClients = new Set<ServerResponse>();
  let server: Server | undefined;
  let bound: { host: string; port: number } | undefined;
  let retry: TimerHandle | undefined;
  let resync: TimerHandle | undefined;
  let stopped = true;

  const requests = counter(
    deps.registry,
    'zonegate_status_requests_total',
    'Status server requests, by route and code',
    ['route', 'code'],
  );
  const authFailures = counter(
    deps.registry,
    'zonegate_status_auth_failures_total',
    'Requests to the status server refused, by reason',
    ['reason'],
  );
  const clients = gauge(deps.registry, 'zonegate_status_live_clients', 'Open live status page connections');

  const send = (
    res: ServerResponse,
    route: string,
    code: number,
    body: string | Uint8Array,
    type: string,
    headers: Record<string, string> = {},
  ): void => {
    requests.inc({ route, code: String(code) });
    res.writeHead(code, { ...SECURITY_HEADERS, 'content-type': type, 'cache-control': 'no-store', ...headers });
    res.end(body);
  };
  const json = (res: ServerResponse, route: string, code: number, value: unknown): void =>
    send(res, route, code, JSON.stringify(value), 'application/json; charset=utf-8');

  /** Refuses a request for data; pages get the login form, API and metrics clients a 401. */
  const refuse = (res: ServerResponse, route: string, why: string, page: boolean): void => {
    authFailures.inc({ reason: why });
    if (why === 'no-token-remote') {
      send(
        res,
        route,
        403,
        page ? noTokenHtml() : 'status.token is not configured: only loopback clients are served\n',
        page ? 'text/html; charset=utf-8' : 'text/plain; charset=utf-8',
      );
      return;
    }
    if (page) {
      send(res, route, 303, '', 'text/plain', { location: '/login' });
      return;
    }
    send(res, route, 401, 'token required (Authorization: Bearer <status.token>)\n', 'text/plain; charset=utf-8', {
      'www-authenticate': 'Bearer realm="zonegate"',
    });
  };

  const readForm = (req: IncomingMessage): Promise<URLSearchParams | undefined> =>
    new Promise((resolve) => {
      let body = '';
      let tooBig = false;
      req.setEncoding('utf8');
      req.on('data', (chunk: string) => {
        body += chunk;
        if (body.length > MAX_FORM_BYTES) {
          tooBig = true;
          req.destroy();
          resolve(undefined);
        }
      });
      req.on('end', () => resolve(tooBig ? undefined : new URLSearchParams(body)));
      req.on('error', () => resolve(undefined));
    });

  const login = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (token === undefined) {
      send(res, 'login', 403, noTokenHtml(), 'text/html; charset=utf-8');
      return;
    }
    const from = req.socket.remoteAddress ?? 'unknown';
    if (throttle.blocked(from, clock.now())) {
      authFailures.inc({ reason: 'throttled' });
      send(
        res,
        'login',
        429,
        loginHtml('Too many wrong tokens; wait a minute and try again.'),
        'text/html; charset=utf-8',
      );
      return;
    }
    const form = await readForm(req);
    const given = form?.get('token') ?? '';
    if (!sameSecret(given, token)) {
      throttle.fail(from, clock.now());
      authFailures.inc({ reason: 'bad-credentials' });
      deps.log.warn({ from }, 'status page: wrong token');
      send(res, 'login', 401, loginHtml('Wrong token.'), 'text/html; charset=utf-8');
      return;
    }
    throttle.succeed(from);
    send(res, 'login', 303, '', 'text/plain', {
      location: '/',
      'set-cookie': `${SESSION_COOKIE}=${sessionValue(token)}; HttpOnly; SameSite=Strict; Path=/; Max-Age=43200`,
    });
  };

  const events = (req: IncomingMessage, res: ServerResponse): void => {
    requests.inc({ route: 'events', code: '200' });
    res.writeHead(200, {
      ...SECURITY_HEADERS,
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    const write = (event: string, data: unknown): void => {
      if (res.writableLength > MAX_SSE_BACKLOG_BYTES) {
        deps.log.warn('status page client not reading; dropping its live connection');
        res.destroy();
        return;
      }
      res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    };
    res.write('retry: 3000\n\n');
    write('snapshot', deps.statusSource.snapshot());
    const unsubscribe = deps.statusSource.subscribe((e) => write('change', e));
    sseClients.add(res);
    clients.set(sseClients.size);
    const close = (): void => {
      unsubscribe();
      sseClients.delete(res);
      clients.set(sseClients.size);
    };
    res.on('close', close);
    req.on('close', close);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://status.local');
    const path = url.pathname;
    const method = req.method ?? 'GET';

    if (path === '/health' && (method === 'GET' || method === 'HEAD')) {
      const status = deps.health?.evaluate().status ?? 'ok';
      json(res, 'health', status === 'failing' ? 503 : 200, { status });
      return;
    }
    if (path === '/app.css') return send(res, 'asset', 200, pageCss, 'text/css; charset=utf-8');
    if (path === '/app.js') return send(res, 'asset', 200, pageJs, 'text/javascript; charset=utf-8');
    if (path === '/login') {
      if (method === 'POST') return login(req, res);
      if (token === undefined) return send(res, 'login', 403, noTokenHtml(), 'text/html; charset=utf-8');
      return send(res, 'login', 200, loginHtml(), 'text/html; charset=utf-8');
    }
    if (path === '/logout' && method === 'POST') {
      return send(res, 'logout', 303, '', 'text/plain', {
        location: '/login',
        'set-cookie': `${SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0`,
      });
    }

    const route =
      path === '/'
        ? 'page'
        : path === '/metrics'
          ? 'metrics'
          : path === '/api/status'
            ? 'status'
            : path === '/api/events'
              ? 'events'
              : path === '/api/health'
                ? 'health-detail'
                : path.startsWith('/api/frame/')
                  ? 'frame'
                  : undefined;
    if (!route) return send(res, 'other', 404, 'not found\n', 'text/plain; charset=utf-8');
    if (method !== 'GET' && method !== 'HEAD')
      return send(res, route, 405, 'method not allowed\n', 'text/plain; charset=utf-8', { allow: 'GET' });

    // A bearer token is a guess at the token itself, like the login form's: both share one
    // budget per address. (A session cookie is an HMAC of the token: guessing it is hopeless.)
    const from = req.socket.remoteAddress ?? 'unknown';
    const bearer = req.headers.authorization !== undefined;
    if (bearer && throttle.blocked(from, clock.now())) {
      authFailures.inc({ reason: 'throttled' });
      return send(res, route, 429, 'too many wrong tokens; wait a minute\n', 'text/plain; charset=utf-8', {
        'retry-after': '60',
      });
    }
    const auth = authorize(req, token);
    if (!auth.ok && bearer && auth.why === 'bad-credentials') throttle.fail(from, clock.now());
    if (!auth.ok) return refuse(res, route, auth.why, route === 'page');

    switch (route) {
      case 'page':
        return send(res, route, 200, pageHtml, 'text/html; charset=utf-8');
      case 'metrics':
        return send(res, route, 200, await deps.registry.metrics(), deps.registry.contentType);
      case 'status':
        return json(res, route, 200, deps.statusSource.snapshot());
      case 'health-detail':
        return json(res, route, 200, deps.health?.evaluate() ?? { status: 'ok', checks: [] });
      case 'events':
        return events(req, res);
      case 'frame': {
        let lane: string;
        try {
          lane = decodeURIComponent(path.slice('/api/frame/'.length));
        } catch {
          return send(res, route, 400, 'bad lane name\n', 'text/plain; charset=utf-8');
        }
        const frame = deps.statusSource.frame(lane);
        if (!frame) return send(res, route, 404, `no frame for lane "${lane}"\n`, 'text/plain; charset=utf-8');
        return send(res, route, 200, frame.jpeg, 'image/jpeg');
      }
    }
  };

  const scheduleResync = (): void => {
    resync = clock.setTimer(deps.resyncMs ?? 10_000, () => {
      if (sseClients.size > 0) {
        const data = `event: snapshot\ndata: ${JSON.stringify(deps.statusSource.snapshot())}\n\n`;
        for (const res of sseClients) if (res.writableLength <= MAX_SSE_BACKLOG_BYTES) res.write(data);
      }
      if (!stopped) scheduleResync();
    });
  };

  const retryLater = (): void => {
    retry = clock.setTimer(deps.bindRetryMs ?? 10_000, () => {
      retry = undefined;
      if (!stopped)
        void listen().catch((err: unknown) => deps.log.error({ err: String(err) }, 'status page: bind failed'));
    });
  };

  const listen = async (): Promise<void> => {
    const host = resolveListen(deps.config.listen);
    if (host === undefined) {
      deps.log.warn(
        { listen: deps.config.listen },
        `status page: interface ${deps.config.listen} has no address yet; retrying`,
      );
      retryLater();
      return;
    }
    const srv = createServer((req, res) => {
      handle(req, res).catch((err: unknown) => {
        deps.log.error({ err: String(err), url: req.url }, 'status page: request failed');
        if (!res.headersSent) send(res, 'error', 500, 'internal error\n', 'text/plain; charset=utf-8');
        else res.destroy();
      });
    });
    srv.on('clientError', (_err, socket) => socket.destroy());
    const failure = await new Promise<NodeJS.ErrnoException | undefined>((resolve) => {
      srv.once('error', (err: NodeJS.ErrnoException) => resolve(err));
      srv.listen(deps.config.port, host, () => resolve(undefined));
    });
    if (failure) {
      // Ops observe: a port taken by another program must not stop the gateway from deciding.
      deps.log.error(
        { host, port: deps.config.port, err: failure.code ?? failure.message },
        `status page cannot listen on ${host}:${deps.config.port} (status.listen / status.port): ${failure.code ?? failure.message}; retrying`,
      );
      if (!stopped) retryLater();
      return;
    }
    const addr = srv.address();
    if (stopped) {
      srv.close();
      return;
    }
    server = srv;
    bound = { host, port: typeof addr === 'object' && addr ? addr.port : deps.config.port };
    deps.log.info({ ...bound, token: token !== undefined }, 'status page listening');
  };

  return {
    name: 'status-server',
    address: () => bound,
    async start() {
      if (!stopped) return;
      stopped = false;
      try {
        await listen();
      } catch (err) {
        stopped = true;
        throw err;
      }
      scheduleResync();
    },
    async stop() {
      stopped = true;
      retry?.cancel();
      resync?.cancel();
      for (const res of sseClients) res.end();
      sseClients.clear();
      clients.set(0);
      const srv = server;
      server = undefined;
      bound = undefined;
      if (srv) {
        await new Promise<void>((resolve) => {
          srv.close(() => resolve());
          srv.closeAllConnections();
        });
      }
    },
  };
}
