import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * Structured JSON lines on stdout: journald keeps them as the MESSAGE field and they stay
 * greppable. `silent` is for tests and for CLI commands whose stdout is data.
 */
export function createLogger(
  options: { level?: string; name?: string; journald?: boolean; toStderr?: boolean } = {},
): Logger {
  // Under systemd (stdout connected to the journal), each line gets its sd-daemon priority prefix,
  // so `journalctl -p warning -u zonegate` filters by pino's level.
  const journald = options.journald ?? process.env['JOURNAL_STREAM'] !== undefined;
  return pino(
    {
      name: options.name ?? 'zonegate',
      level: options.level ?? process.env['ZONEGATE_LOG_LEVEL'] ?? 'info',
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
      ...(journald ? { hooks: { streamWrite: journaldPriorityPrefix } } : {}),
    },
    // When stdout carries data (the live view, replay's JSON lines), the log goes to stderr.
    pino.destination({ dest: options.toStderr ? 2 : 1, sync: true }),
  );
}

/** `<N>` syslog priority for a pino JSON line: fatal 2 (crit), error 3, warn 4, info 6, debug/trace 7. */
export function journaldPriorityPrefix(line: string): string {
  const level = Number(/"level":(\d+)/.exec(line)?.[1] ?? 30);
  const priority = level >= 60 ? 2 : level >= 50 ? 3 : level >= 40 ? 4 : level >= 30 ? 6 : 7;
  return `<${priority}>${line}`;
}

export const silentLogger: Logger = pino({ level: 'silent' });
