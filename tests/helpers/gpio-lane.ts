import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { BollardEvent, BollardInputs, BollardStatus } from '../../src/bollard/types.js';
import { repoRoot } from './cli.js';
import type { GpioTree } from './gpio-tree.js';

export interface LaneHostSpec {
  readonly laneId: string;
  /** The lane's `bollard` section (before defaults). */
  readonly bollard: Record<string, unknown>;
  readonly gpio?: { readonly interrupts?: boolean; readonly scan?: boolean };
  readonly runDir: string;
}

export interface LaneHostMessage {
  readonly type?: string;
  readonly id?: number;
  readonly result?: unknown;
  readonly error?: { name: string; message: string; code?: string };
  readonly event?: BollardEvent;
  readonly inputs?: BollardInputs;
  readonly status?: BollardStatus;
}

/** A bollard lane on the GPIO driver in a child process that sees `tree` as /sys/class/gpio. */
export class LaneHost {
  readonly messages: LaneHostMessage[] = [];
  readonly child: ChildProcess;
  stderr = '';
  #nextId = 1;
  #waiters = new Set<() => void>();
  #exited = false;

  /**
   * `how.gpio` false: a namespace without /sys/class/gpio at all. `how.wrap`: a command prefix
   * run inside the namespace (e.g. setpriv to drop to a service user).
   */
  constructor(tree: GpioTree, spec: LaneHostSpec, how: { gpio?: boolean; wrap?: readonly string[] } = {}) {
    const argv = [...(how.wrap ?? []), process.execPath, '--import', 'tsx', 'tests/helpers/gpio-lane-host.ts'];
    this.child = tree.spawn(
      argv[0]!,
      argv.slice(1),
      {
        cwd: repoRoot,
        env: { ...process.env, ZG_LANE: JSON.stringify(spec) },
        stdio: ['pipe', 'pipe', 'pipe'],
      },
      { gpio: how.gpio ?? true },
    );
    this.child.stderr?.on('data', (d: Buffer) => (this.stderr += d.toString()));
    createInterface({ input: this.child.stdout! }).on('line', (line) => {
      try {
        this.messages.push(JSON.parse(line) as LaneHostMessage);
      } catch {
        this.stderr += `${line}\n`;
      }
      this.#wake();
    });
    this.child.once('exit', () => {
      this.#exited = true;
      this.#wake();
    });
  }

  get events(): BollardEvent[] {
    return this.messages.flatMap((m) => (m.type === 'event' && m.event ? [m.event] : []));
  }

  /** Resolves with the first message that matches, waiting for it (event-driven, not sleeping). */
  async waitFor(match: (m: LaneHostMessage) => boolean, what: string, timeoutMs = 20_000): Promise<LaneHostMessage> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.messages.find(match);
      if (hit) return hit;
      if (this.#exited) throw new Error(`lane host exited while waiting for ${what}; stderr: ${this.stderr}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}; stderr: ${this.stderr}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(done, left);
        function done(): void {
          clearTimeout(t);
          resolve();
        }
        this.#waiters.add(done);
      });
    }
  }

  /** Start-up outcome: the controller's status, or the error that stopped it. */
  async started(): Promise<LaneHostMessage> {
    return this.waitFor((m) => m.type === 'ready' || m.type === 'error', 'start-up');
  }

  async call<T = unknown>(op: string, args: Record<string, unknown> = {}): Promise<T> {
    const id = this.#nextId++;
    this.child.stdin!.write(`${JSON.stringify({ id, op, ...args })}\n`);
    const reply = await this.waitFor((m) => m.id === id, `reply to ${op}`);
    if (reply.error) throw Object.assign(new Error(reply.error.message), reply.error);
    return reply.result as T;
  }

  async close(): Promise<void> {
    if (this.#exited) return;
    const exited = new Promise<void>((r) => this.child.once('exit', () => r()));
    this.child.stdin!.end();
    const kill = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(kill);
  }

  #wake(): void {
    const ws = [...this.#waiters];
    this.#waiters.clear();
    for (const w of ws) w();
  }
}
