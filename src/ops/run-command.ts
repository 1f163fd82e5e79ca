import { execFile } from 'node:child_process';

export interface CommandOutcome {
  /** Exit code; undefined when the program is missing or was killed. */
  readonly code: number | undefined;
  readonly stdout: string;
  readonly stderr: string;
  /** Set when the program could not be run at all (ENOENT, EACCES) or timed out. */
  readonly error?: string;
}

/** How checks run system tools; tests and callers may pass their own (e.g. with a PATH). */
export type CommandRunner = (
  file: string,
  args: readonly string[],
  options?: { input?: string },
) => Promise<CommandOutcome>;

export function commandRunner(options: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): CommandRunner {
  return (file, args, opts = {}) =>
    new Promise((resolve) => {
      const child = execFile(
        file,
        [...args],
        {
          timeout: options.timeoutMs ?? 10_000,
          env: childEnv(options.env ?? process.env),
          maxBuffer: 4 << 20,
          encoding: 'utf8',
        },
        (err, stdout, stderr) => {
          const e = err as (NodeJS.ErrnoException & { code?: unknown; killed?: boolean }) | null;
          if (!e) return resolve({ code: 0, stdout, stderr });
          if (typeof e.code === 'number') return resolve({ code: e.code, stdout, stderr });
          resolve({
            code: undefined,
            stdout,
            stderr,
            error: e.killed ? `timed out` : typeof e.code === 'string' ? e.code : e.message,
          });
        },
      );
      if (opts.input !== undefined) child.stdin?.end(opts.input);
    });
}

/** The environment without systemd's notify socket: a systemd tool run as a check would report its own ERRNO= there. */
function childEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const { NOTIFY_SOCKET: _n, WATCHDOG_USEC: _u, WATCHDOG_PID: _p, ...rest } = env;
  return rest;
}
