import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { loadSiteConfig } from '../../config/load.js';
import { inspectJournal, NotAJournalError, type JournalInspector } from '../../journal/inspect.js';
import { EVENT_TYPES, type EventType } from '../../journal/types.js';
import { UsageError } from '../main.js';

interface Target {
  readonly config?: string;
  readonly db?: string;
}

function open(opts: Target): JournalInspector {
  if (opts.config && opts.db) throw new UsageError('give either --config or --db, not both');
  const file = opts.db ?? (opts.config ? join(loadSiteConfig(opts.config).dataDir, 'journal.sqlite') : undefined);
  if (!file) throw new UsageError('which journal? give --config SITE.yaml (its dataDir/journal.sqlite) or --db FILE');
  if (!existsSync(file)) throw new UsageError(`${file}: no journal there`);
  try {
    return inspectJournal(file);
  } catch (err) {
    if (err instanceof NotAJournalError) throw new UsageError(err.message);
    throw err;
  }
}

function eventType(value: string | undefined): EventType | undefined {
  if (value === undefined) return undefined;
  if (!(EVENT_TYPES as readonly string[]).includes(value))
    throw new UsageError(`--type: "${value}" is not one of ${EVENT_TYPES.join(', ')}`);
  return value as EventType;
}

/** `zonegate journal stats|tail`: read-only, safe while the gateway runs. */
export function registerJournal(program: Command): void {
  const journal = program
    .command('journal')
    .description('the event journal (outbox to the region): counts, backlog, recent events');
  journal
    .command('stats')
    .description('entries by type, backlog not yet acknowledged by the region, drops and purges, size')
    .option('--config <site.yaml>', 'site profile: the journal is journal.sqlite in its dataDir')
    .option('--db <file>', 'the journal file directly')
    .option('--json', 'one JSON object')
    .action((opts: Target & { json?: boolean }) => {
      const j = open(opts);
      try {
        const s = j.summary();
        if (opts.json) {
          process.stdout.write(`${JSON.stringify(s)}\n`);
          return;
        }
        const types = EVENT_TYPES.filter((t) => s.byType[t] > 0)
          .map((t) => `${t} ${s.byType[t]}`)
          .join(', ');
        const dropped = EVENT_TYPES.filter((t) => s.dropped[t] > 0).map((t) => `${t} ${s.dropped[t]}`);
        process.stdout.write(
          [
            `journal   ${s.file} (gateway ${s.gateway ?? '?'})`,
            `entries   ${s.entries}${types ? ` (${types})` : ''}`,
            `backlog   ${s.backlog} not yet acknowledged by the region`,
            `seq       ${s.firstSeq ?? '-'} … ${s.lastSeq ?? '-'}, acknowledged through ${s.ackedThrough ?? '-'}`,
            `size      ${(s.bytes / 1024 / 1024).toFixed(1)} MiB in use`,
            `dropped   ${dropped.length ? dropped.join(', ') : 'none'}`,
            `state     ${s.openOrUnclean ? 'open (a gateway is running, or the last run did not close it)' : 'closed cleanly'}`,
          ].join('\n') + '\n',
        );
      } finally {
        j.close();
      }
    });
  journal
    .command('tail')
    .description('the newest events as JSON lines, oldest first; --follow keeps printing new ones')
    .option('--config <site.yaml>', 'site profile: the journal is journal.sqlite in its dataDir')
    .option('--db <file>', 'the journal file directly')
    .option('-n, --lines <n>', 'how many', '20')
    .option('--type <type>', `only this type (${EVENT_TYPES.join(', ')})`)
    .option('--follow', 'keep printing new events until interrupted')
    .action(async (opts: Target & { lines: string; type?: string; follow?: boolean }) => {
      const n = Number(opts.lines);
      if (!Number.isInteger(n) || n < 0) throw new UsageError(`--lines: "${opts.lines}" is not a whole number`);
      const type = eventType(opts.type);
      const j = open(opts);
      try {
        const recent = j.latest(n, type).reverse();
        for (const e of recent) process.stdout.write(`${JSON.stringify(e)}\n`);
        if (!opts.follow) return;
        let last = recent.at(-1)?.seq ?? j.summary().lastSeq ?? 0;
        let stop = false;
        process.once('SIGINT', () => (stop = true));
        process.once('SIGTERM', () => (stop = true));
        while (!stop) {
          for (const e of j.after(last, 1000)) {
            last = e.seq;
            if (!type || e.type === type) process.stdout.write(`${JSON.stringify(e)}\n`);
          }
          await new Promise((r) => setTimeout(r, 500));
        }
      } finally {
        j.close();
      }
    });
}
