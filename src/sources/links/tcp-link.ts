import { createServer, connect, type Server, type Socket } from 'node:net';
import type { Clock, TimerHandle } from '../../shared/clock.js';
import type { Lifecycle } from '../../shared/lifecycle.js';
import type { Logger } from '../../shared/log.js';
import { PeerFilter } from './peer-filter.js';
import { Reconnector, type LinkEvents, type PeerRefusal, type ReconnectPolicy } from './types.js';

/** Dead cameras (cable cut, power lost) are noticed by TCP keep-alive rather than waiting forever. */
const KEEPALIVE_MS = 10_000;

/**
 * An unanswered connection attempt is given up after this long. Linux resends an unanswered SYN
 * after 1 s and 3 s, so 5 s lets three go out and rides out a lossy link; a camera on the LAN
 * answers in under a millisecond, one routed over a VPN or 4G within a second. Without it, the
 * kernel keeps trying for about two minutes (tcp_syn_retries 6) when SYNs are silently dropped.
 */
export const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;

export interface TcpClientLinkOptions {
  readonly host: string;
  readonly port: number;
  readonly reconnect?: ReconnectPolicy;
  /** An attempt not connected after this long (name lookup included) is abandoned and retried. */
  readonly connectTimeoutMs?: number;
  readonly clock: Clock;
  readonly log: Logger;
  readonly events: LinkEvents;
}

/** The gateway connects to a camera that listens (camera as server), and reconnects with backoff. */
export class TcpClientLink implements Lifecycle {
  readonly name: string;
  #socket: Socket | undefined;
  #stopped = true;
  readonly #reconnector: Reconnector;
  readonly #stream: string;

  constructor(private readonly options: TcpClientLinkOptions) {
    this.#stream = `${options.host}:${options.port}`;
    this.name = `tcp-client:${this.#stream}`;
    this.#reconnector = new Reconnector({
      policy: options.reconnect,
      clock: options.clock,
      log: options.log,
      logContext: { camera: this.#stream },
      events: options.events,
    });
  }

  async start(): Promise<void> {
    this.#stopped = false;
    this.#connect();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#reconnector.cancel();
    const s = this.#socket;
    this.#socket = undefined;
    if (s && !s.destroyed) await new Promise<void>((resolve) => s.once('close', () => resolve()).destroy());
  }

  #connect(): void {
    const { host, port, clock, events } = this.options;
    const stream = this.#stream;
    const socket = connect({ host, port });
    this.#socket = socket;
    let connected = false;
    let lastError: string | undefined;
    const timeoutMs = this.options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    // The kernel's own SYN retries run for minutes: our deadline bounds each attempt.
    let deadline: TimerHandle | undefined = clock.setTimer(timeoutMs, () => {
      deadline = undefined;
      if (connected || socket.destroyed) return;
      lastError = `${stream} did not answer within ${timeoutMs} ms: camera off or unreachable, or a firewall drops the connection`;
      socket.destroy();
    });
    socket.setNoDelay(true);
    socket.on('connect', () => {
      deadline?.cancel();
      deadline = undefined;
      connected = true;
      socket.setKeepAlive(true, KEEPALIVE_MS);
      const after = this.#reconnector.succeeded();
      events.opened(stream, `connected to ${stream}${after ? ` after: ${after}` : ''}`);
    });
    socket.on('data', (chunk: Buffer) => events.data(stream, chunk, clock.now(), process.hrtime.bigint()));
    socket.on('error', (err: NodeJS.ErrnoException) => {
      lastError = err.code === 'ECONNREFUSED' ? `nothing listens on ${stream}` : `${stream}: ${err.message}`;
    });
    socket.on('close', () => {
      deadline?.cancel();
      deadline = undefined;
      if (this.#socket === socket) this.#socket = undefined;
      if (connected) events.closed(stream, lastError ?? `${stream} closed the connection`);
      if (this.#stopped) return;
      this.#reconnector.retry(lastError ?? `${stream} closed the connection`, () => {
        if (!this.#stopped) this.#connect();
      });
    });
  }
}

export interface TcpServerLinkOptions {
  /** Address to listen on; 0.0.0.0 for cameras on the LAN. */
  readonly host: string;
  readonly port: number;
  /** Cameras allowed at once; more are refused (each holds a bounded buffer). */
  readonly maxConnections: number;
  /** Addresses and CIDR ranges that may connect; others are closed unread. Absent: any host. */
  readonly allowFrom?: readonly string[];
  /** How listening is retried while the port is taken or the address is not there yet. */
  readonly reconnect?: ReconnectPolicy;
  readonly clock: Clock;
  readonly log: Logger;
  readonly events: LinkEvents;
}

/**
 * The gateway listens and cameras connect to it (camera as client); each connection is a stream.
 * start() never fails because the port is taken (another program, a gateway still stopping) or the
 * address is not on an interface yet (DHCP, a VLAN coming up): it reports why and keeps trying with
 * the reconnect backoff, so one camera's listener cannot stop the gateway deciding on other lanes.
 */
export class TcpServerLink implements Lifecycle {
  readonly name: string;
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  readonly #filter: PeerFilter | undefined;
  readonly #reconnector: Reconnector;
  #stopped = true;
  /** The listen() in progress, so stop() can wait for it rather than leave a port bound behind it. */
  #attempt: Promise<void> | undefined;

  constructor(private readonly options: TcpServerLinkOptions) {
    this.name = `tcp-server:${options.host}:${options.port}`;
    this.#filter = options.allowFrom ? new PeerFilter(options.allowFrom) : undefined;
    this.#reconnector = new Reconnector({
      policy: options.reconnect,
      clock: options.clock,
      log: options.log,
      logContext: { listen: `${options.host}:${options.port}` },
      events: options.events,
    });
    this.#server = this.#createServer();
  }

  /** The port actually bound (differs from the configured one only when that was 0). */
  get port(): number {
    const a = this.#server.listening ? this.#server.address() : undefined;
    return typeof a === 'object' && a ? a.port : this.options.port;
  }

  async start(): Promise<void> {
    this.#stopped = false;
    await this.#listen();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#reconnector.cancel();
    await this.#attempt;
    for (const s of this.#sockets) s.destroy();
    const server = this.#server;
    if (server.listening) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  #createServer(): Server {
    const { maxConnections, clock, events, log } = this.options;
    const filter = this.#filter;
    const refuse = (peer: string, reason: PeerRefusal, detail: string): void => {
      if (events.refused) events.refused(peer, reason, detail);
      else log.warn({ camera: peer, reason }, detail);
    };
    const server = createServer((socket) => {
      const stream = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
      if (filter && !filter.allows(socket.remoteAddress ?? '')) {
        // Closed before a byte is read: whatever it sent never reaches a decoder.
        socket.on('error', () => undefined);
        socket.destroy();
        refuse(stream, 'not-allowed', `connection from ${stream} refused: not in allowFrom of ${this.name}`);
        return;
      }
      this.#sockets.add(socket);
      socket.setNoDelay(true);
      socket.setKeepAlive(true, KEEPALIVE_MS);
      let lastError: string | undefined;
      events.opened(stream, `camera ${stream} connected to ${this.name}`);
      socket.on('data', (chunk: Buffer) => events.data(stream, chunk, clock.now(), process.hrtime.bigint()));
      socket.on('error', (err) => (lastError = err.message));
      socket.on('close', () => {
        this.#sockets.delete(socket);
        events.closed(stream, `camera ${stream} disconnected${lastError ? ` (${lastError})` : ''}`);
      });
    });
    server.maxConnections = maxConnections;
    server.on('drop', (d) => {
      const peer = `${d?.remoteAddress ?? '?'}:${d?.remotePort ?? '?'}`;
      refuse(
        peer,
        'too-many-connections',
        `connection from ${peer} refused: ${maxConnections} cameras already connected`,
      );
    });
    // A failed listen() is handled by #listen; this is for errors of a listener that is up.
    server.on('error', (err) => {
      if (server.listening) log.error({ err: err.message }, 'camera listener error');
    });
    return server;
  }

  #listen(): Promise<void> {
    const { host, port, events, log } = this.options;
    const server = this.#server;
    const attempt = new Promise<void>((resolve) => {
      const failed = (err: NodeJS.ErrnoException): void => {
        server.off('listening', listening);
        this.#attempt = undefined;
        resolve();
        if (this.#stopped) return;
        this.#reconnector.retry(describeListenError(host, port, err), () => {
          if (!this.#stopped) void this.#listen();
        });
      };
      const listening = (): void => {
        server.off('error', failed);
        this.#attempt = undefined;
        resolve();
        if (this.#stopped) return;
        const after = this.#reconnector.succeeded();
        const detail = `listening on ${host}:${this.port} for cameras${after ? ` after: ${after}` : ''}`;
        if (after) log.info(detail);
        events.listening?.(detail, after);
        if (!this.#filter)
          log.warn(
            { listen: `${host}:${this.port}` },
            "any host that reaches this port may send plate reads: set allowFrom to the cameras' addresses",
          );
      };
      server.once('error', failed);
      server.once('listening', listening);
      server.listen(port, host);
    });
    this.#attempt = attempt;
    return attempt;
  }
}

/** Why a camera listener cannot be opened, and what a technician should look at. */
export function describeListenError(host: string, port: number, err: NodeJS.ErrnoException): string {
  const where = `cannot listen on ${host}:${port} for cameras`;
  switch (err.code) {
    case 'EADDRINUSE':
      return `${where}: the port is in use (another program, or another source with the same port)`;
    case 'EADDRNOTAVAIL':
      return `${where}: ${host} is not an address of this gateway (yet): interface down, or the address not assigned`;
    case 'EACCES':
      return `${where}: no permission (ports below 1024 need CAP_NET_BIND_SERVICE)`;
    default:
      return `${where}: ${err.message}`;
  }
}
