import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A free TCP port on loopback, found by binding port 0. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

export async function waitForPort(port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`port ${port} did not open within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface MosquittoOptions {
  /** Extra lines appended to mosquitto.conf (TLS listeners, ACLs …). */
  readonly extraConfig?: string;
  /** Keep messages across restart (persistence on, in the instance's own directory). */
  readonly persistence?: boolean;
}

/**
 * A private Mosquitto on a free loopback port, in its own directory, so tests never touch the
 * system broker. `stop()` then `start()` restarts it on the same port (for outage tests).
 */
export class MosquittoInstance {
  readonly dir = mkdtempSync(join(tmpdir(), 'zg-mosquitto-'));
  port = 0;
  #proc: ChildProcess | undefined;
  log = '';

  constructor(private readonly options: MosquittoOptions = {}) {}

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    if (this.port === 0) this.port = await freePort();
    const conf = join(this.dir, 'mosquitto.conf');
    writeFileSync(
      conf,
      [
        `listener ${this.port} 127.0.0.1`,
        'allow_anonymous true',
        `persistence ${this.options.persistence ? 'true' : 'false'}`,
        `persistence_location ${this.dir}/`,
        'log_dest stderr',
        'log_type error',
        'log_type warning',
        'max_queued_messages 0',
        this.options.extraConfig ?? '',
      ].join('\n'),
    );
    const proc = spawn('mosquitto', ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
    proc.stderr?.on('data', (d: Buffer) => (this.log += d.toString()));
    this.#proc = proc;
    await Promise.race([
      waitForPort(this.port),
      new Promise((_, reject) =>
        proc.once('exit', (code) => reject(new Error(`mosquitto exited ${code}: ${this.log}`))),
      ),
    ]);
  }

  async stop(): Promise<void> {
    const proc = this.#proc;
    if (!proc || proc.exitCode !== null) return;
    this.#proc = undefined;
    await new Promise<void>((resolve) => {
      proc.once('exit', () => resolve());
      proc.kill('SIGTERM');
    });
  }

  async dispose(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export async function startMosquitto(options?: MosquittoOptions): Promise<MosquittoInstance> {
  const m = new MosquittoInstance(options);
  await m.start();
  return m;
}
