import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { repoRoot, spawnCli } from './cli.js';

/** Every seq a journal file holds, as "gateway:seq", read without opening it for writing. */
export function journaledKeys(dir: string, gatewayId: string): string[] {
  const db = new Database(join(dir, `${gatewayId}.sqlite`), { readonly: true });
  try {
    return (db.prepare('SELECT seq FROM events ORDER BY seq').pluck().all() as number[]).map(
      (s) => `${gatewayId}:${s}`,
    );
  } finally {
    db.close();
  }
}

export interface Child {
  readonly proc: ChildProcess;
  output: string;
  /** Resolves when a line reading exactly `text` (or, with a space, containing it) was printed; rejects if the process exits first. */
  waitFor(text: string, timeoutMs?: number): Promise<void>;
  exited: Promise<number | null>;
}

function watch(proc: ChildProcess): Child {
  const seen = (text: string): boolean =>
    text.includes(' ') ? child.output.includes(text) : child.output.split('\n').some((l) => l.trim() === text);
  const child: Child = {
    proc,
    output: '',
    exited: new Promise((resolve) => proc.once('exit', (code) => resolve(code))),
    waitFor(text, timeoutMs = 60_000) {
      return new Promise((resolve, reject) => {
        if (seen(text)) return resolve();
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`no "${text}" within ${timeoutMs} ms; output:\n${child.output.slice(-2000)}`));
        }, timeoutMs);
        const onData = (): void => {
          if (seen(text)) {
            cleanup();
            resolve();
          }
        };
        const onExit = (code: number | null): void => {
          cleanup();
          if (seen(text)) resolve();
          else reject(new Error(`exited (${code}) before "${text}"; output:\n${child.output.slice(-2000)}`));
        };
        const cleanup = (): void => {
          clearTimeout(timer);
          proc.stdout?.off('data', onData);
          proc.stderr?.off('data', onData);
          proc.off('exit', onExit);
        };
        proc.stdout?.on('data', onData);
        proc.stderr?.on('data', onData);
        proc.once('exit', onExit);
      });
    },
  };
  proc.stdout?.on('data', (d: Buffer) => (child.output += d.toString()));
  proc.stderr?.on('data', (d: Buffer) => (child.output += d.toString()));
  return child;
}

/** tests/fixtures/uplink-gateway.ts as a child process. */
export function spawnGateways(args: {
  dir: string;
  broker: string;
  gateways: readonly string[];
  events: number;
  rate: number;
  ackTimeoutMs?: number;
}): Child {
  return watch(
    spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        'tests/fixtures/uplink-gateway.ts',
        '--dir',
        args.dir,
        '--broker',
        args.broker,
        '--gateways',
        args.gateways.join(','),
        '--events',
        String(args.events),
        '--rate',
        String(args.rate),
        '--ack-timeout',
        String(args.ackTimeoutMs ?? 3_000),
      ],
      { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] },
    ),
  );
}

/** `zonegate region ingest` as a child process. */
export function spawnIngest(args: { pg: string; broker: string; instance: string; env?: NodeJS.ProcessEnv }): Child {
  return watch(
    spawnCli(
      ['region', 'ingest', '--pg', args.pg, '--mqtt', args.broker, '--instance', args.instance, '--group', 'fault'],
      {
        env: { ...process.env, ZONEGATE_LOG_LEVEL: 'warn', ...args.env },
      },
    ),
  );
}

/** Kills the child unless it already ended; true when the signal ended it (not a clean exit just before). */
export async function kill(child: Child, signal: NodeJS.Signals = 'SIGKILL'): Promise<boolean> {
  if (child.proc.exitCode !== null || child.proc.signalCode !== null) return false;
  child.proc.kill(signal);
  await child.exited;
  return child.proc.signalCode === signal;
}
