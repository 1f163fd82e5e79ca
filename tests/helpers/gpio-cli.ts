import type { ChildProcess } from 'node:child_process';
import { repoRoot, type CliResult } from './cli.js';
import type { GpioTree } from './gpio-tree.js';

/** A `zonegate` child running inside a GPIO tree, for tests that act on it while it runs (signals). */
export interface TreeCli {
  readonly child: ChildProcess;
  /** Resolves when the child has exited, with everything it wrote. */
  readonly done: Promise<CliResult>;
  /** What it wrote so far. */
  output(): { readonly stdout: string; readonly stderr: string };
  /** Resolves when stdout or stderr (so far, or later) matches; rejects if the child exits first. */
  waitFor(stream: 'stdout' | 'stderr', pattern: RegExp): Promise<void>;
}

/** Starts `zonegate ARGS…` from the sources, in a child that sees `tree` as /sys/class/gpio. */
export function spawnCliInTree(
  tree: GpioTree,
  args: readonly string[],
  env: Readonly<Record<string, string>> = {},
): TreeCli {
  const child = tree.spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
    cwd: repoRoot,
    env: { ...process.env, ZONEGATE_LOG_LEVEL: 'warn', ...env },
  });
  const out = { stdout: '', stderr: '' };
  const waiters = new Set<() => void>();
  const wake = (): void => {
    for (const w of [...waiters]) w();
  };
  child.stdout?.on('data', (d: Buffer) => {
    out.stdout += d.toString();
    wake();
  });
  child.stderr?.on('data', (d: Buffer) => {
    out.stderr += d.toString();
    wake();
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  let exited = false;
  const done = new Promise<CliResult>((resolve) =>
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      exited = true;
      wake();
      resolve({ code, signal, ...out });
    }),
  );
  return {
    child,
    done,
    output: () => ({ ...out }),
    waitFor(stream, pattern) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          if (pattern.test(out[stream])) {
            waiters.delete(check);
            resolve();
          } else if (exited) {
            waiters.delete(check);
            reject(new Error(`zonegate exited before its ${stream} matched ${pattern}:\n${out.stdout}\n${out.stderr}`));
          }
        };
        waiters.add(check);
        check();
      });
    },
  };
}

/** `zonegate ARGS…` from the sources, in a child that sees `tree` as /sys/class/gpio. */
export function cliInTree(
  tree: GpioTree,
  args: readonly string[],
  env: Readonly<Record<string, string>> = {},
): Promise<CliResult> {
  return spawnCliInTree(tree, args, env).done;
}
