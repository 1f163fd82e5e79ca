import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import type { Lifecycle } from '../shared/lifecycle.js';

/**
 * Two pseudo-terminals joined by socat: what one side writes, the other reads, like the two
 * ends of a null-modem cable. The simulated camera writes to `cameraEnd`; the gateway's real
 * serial source reads `gatewayEnd`, so the demo exercises the same code path as a field install.
 * stop() is "unplugging the cable": socat closes both masters and removes the links.
 */
export class PtyPair implements Lifecycle {
  readonly name: string;
  #proc: ChildProcess | undefined;
  #log = '';

  constructor(
    readonly cameraEnd: string,
    readonly gatewayEnd: string,
    private readonly startTimeoutMs = 5_000,
  ) {
    this.name = `pty-pair:${gatewayEnd}`;
  }

  get running(): boolean {
    return this.#proc !== undefined && this.#proc.exitCode === null && this.#proc.signalCode === null;
  }

  async start(): Promise<void> {
    if (this.running) return;
    this.#log = '';
    // Its own process group: a Ctrl-C in the terminal stops the gateway, which then unplugs the
    // cable in order, instead of socat vanishing under a running serial source. Should the
    // gateway exit without stopping it, the exit hook still takes socat down.
    const proc = spawn(
      'socat',
      ['-d', '-d', `pty,raw,echo=0,link=${this.cameraEnd}`, `pty,raw,echo=0,link=${this.gatewayEnd}`],
      { stdio: ['ignore', 'ignore', 'pipe'], detached: true },
    );
    this.#proc = proc;
    const killWithGateway = (): void => void proc.kill('SIGTERM');
    process.once('exit', killWithGateway);
    proc.once('exit', () => process.off('exit', killWithGateway));
    proc.stderr!.on('data', (d: Buffer) => {
      // Bounded: socat only talks at start and stop with -d -d.
      if (this.#log.length < 16_384) this.#log += d.toString();
    });
    await new Promise<void>((resolve, reject) => {
      let settled = false;
      const settle = (err?: Error): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        proc.off('exit', onEarlyExit);
        proc.stderr!.off('data', onData);
        if (err) reject(err);
        else resolve();
      };
      const fail = (why: string): void => {
        proc.kill('SIGTERM');
        settle(new Error(`socat did not create ${this.cameraEnd} and ${this.gatewayEnd}: ${why}\n${this.#log.trim()}`));
      };
      const onEarlyExit = (code: number | null): void => fail(`socat exited with ${code}`);
      const onData = (): void => {
        // socat creates both links before it says it starts copying.
        if (
          this.#log.includes('starting data transfer loop') &&
          existsSync(this.cameraEnd) &&
          existsSync(this.gatewayEnd)
        )
          settle();
      };
      const timer = setTimeout(() => fail(`no pty pair within ${this.startTimeoutMs} ms`), this.startTimeoutMs);
      proc.once('error', (err: NodeJS.ErrnoException) =>
        fail(err.code === 'ENOENT' ? 'socat is not installed (apt-get install socat)' : err.message),
      );
      proc.once('exit', onEarlyExit);
      proc.stderr!.on('data', onData);
    });
  }

  /**
   * Closes both pty masters (the device disappears) and waits until socat has removed the links.
   * socat can hang in its exit path while a program still holds one end with unread output;
   * then it is killed and the links are removed here.
   */
  async stop(): Promise<void> {
    const proc = this.#proc;
    this.#proc = undefined;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      const kill = setTimeout(() => proc.kill('SIGKILL'), 2_000);
      proc.once('exit', () => {
        clearTimeout(kill);
        resolve();
      });
      proc.kill('SIGTERM');
    });
    for (const link of [this.cameraEnd, this.gatewayEnd]) rmSync(link, { force: true });
  }
}
