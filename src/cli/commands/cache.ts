import type { Command } from 'commander';
import { DateTime } from 'luxon';
import { readFileSync } from 'node:fs';
import { Registry } from 'prom-client';
import { formatProblem, importListCsv, openListCache, type ListCache } from '../../cache/index.js';
import { loadSiteConfig } from '../../config/load.js';
import { canonicalText, displayPlate } from '../../plate/key.js';
import { decide } from '../../policy/decide.js';
import { LIST_TIME_ZONE, localDate } from '../../policy/local-time.js';
import { zonePolicyFor } from '../../policy/zone-policy.js';
import { systemClock } from '../../shared/clock.js';
import { silentLogger } from '../../shared/log.js';
import { listCacheFile } from '../../sync/lists.js';
import { UsageError } from '../main.js';

interface CacheTarget {
  readonly config?: string;
  readonly db?: string;
}

/** lists.sqlite of the site's dataDir (--config), or the file given with --db. */
function cacheFile(opts: CacheTarget): string {
  if (opts.config && opts.db) throw new UsageError('give either --config or --db, not both');
  if (opts.db) return opts.db;
  if (opts.config) return listCacheFile(loadSiteConfig(opts.config));
  throw new UsageError('which cache? give --config SITE.yaml (uses its dataDir/lists.sqlite) or --db FILE');
}

function open(file: string): ListCache {
  // A running gateway may be building a snapshot next to this file: never remove its files from here.
  return openListCache(file, { clock: systemClock, log: silentLogger, registry: new Registry() }, { cleanup: false });
}

/** An ISO time; without an offset it is Europe/Amsterdam time, as the lists' windows and dates are. */
function parseAt(text: string): number {
  const t = DateTime.fromISO(text, { zone: LIST_TIME_ZONE });
  if (!t.isValid)
    throw new UsageError(`--at: "${text}" is not an ISO time (e.g. 2026-03-02T08:15 or 2026-03-02T08:15+01:00)`);
  return t.toMillis();
}

const MAX_PROBLEMS_SHOWN = 200;

export function registerCache(program: Command): void {
  const cache = program.command('cache').description('the local list cache: import lists, show what it holds');

  cache
    .command('import')
    .description('import a grants CSV or an RDW vehicle-data CSV (see docs/lists.md); all rows or none')
    .argument('<file>', 'CSV file')
    .option('--config <site.yaml>', 'site profile: the cache is lists.sqlite in its dataDir')
    .option('--db <file>', 'the cache file (lists.sqlite) directly')
    .option('--merge', 'add to and update the current list instead of replacing the list of that kind')
    .option('--list-version <n>', 'version number of the result (default: current + 1)')
    .action((file: string, opts: CacheTarget & { merge?: boolean; listVersion?: string }) => {
      const target = cacheFile(opts);
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch (err) {
        throw new UsageError(`${file}: cannot read (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
      }
      const version = opts.listVersion === undefined ? undefined : Number(opts.listVersion);
      if (version !== undefined && !Number.isSafeInteger(version))
        throw new UsageError(`--list-version: "${opts.listVersion}" is not a whole number`);
      const c = open(target);
      try {
        const r = importListCsv(c, text, {
          clock: systemClock,
          merge: opts.merge ?? false,
          ...(version !== undefined ? { version } : {}),
        });
        if (r.problems.length > 0) {
          for (const p of r.problems.slice(0, MAX_PROBLEMS_SHOWN)) process.stderr.write(`${formatProblem(file, p)}\n`);
          if (r.problems.length > MAX_PROBLEMS_SHOWN)
            process.stderr.write(`… and ${r.problems.length - MAX_PROBLEMS_SHOWN} more problems\n`);
          throw new UsageError(
            `${file}: ${r.problems.length} problem${r.problems.length === 1 ? '' : 's'}; nothing was imported (the cache is unchanged at version ${r.version})`,
          );
        }
        process.stdout.write(
          `imported ${r.applied} ${r.kind} from ${file} into ${target}: list version ${r.version}\n`,
        );
      } finally {
        c.close();
      }
    });

  cache
    .command('info')
    .description('version, age and size of the list in the cache')
    .option('--config <site.yaml>', 'site profile: the cache is lists.sqlite in its dataDir')
    .option('--db <file>', 'the cache file (lists.sqlite) directly')
    .option('--json', 'one JSON object')
    .action((opts: CacheTarget & { json?: boolean }) => {
      const c = open(cacheFile(opts));
      try {
        const i = c.info();
        if (opts.json) {
          process.stdout.write(`${JSON.stringify(i)}\n`);
          return;
        }
        const age = i.ageSeconds === undefined ? 'never published' : `${(i.ageSeconds / 3600).toFixed(1)} h`;
        process.stdout.write(
          [
            `version    ${i.version} (${i.source})`,
            `published  ${i.publishedAt !== undefined ? new Date(i.publishedAt).toISOString() : '-'} (age ${age})`,
            ...(i.zone ? [`zone       ${i.zone}`] : []),
            `grants     ${i.grants}`,
            `vehicles   ${i.vehicles}`,
            `data file  ${i.file}`,
          ].join('\n') + '\n',
        );
      } finally {
        c.close();
      }
    });

  cache
    .command('check')
    .description('what the cache holds for a plate and what a lane would decide now (or --at TIME)')
    .argument('<plate>', 'plate, with or without dashes')
    .requiredOption('--config <site.yaml>', 'site profile (zone, policy, dataDir)')
    .option('--lane <id>', 'lane (default: the first)')
    .option('--country <cc>', 'country of the plate', 'NL')
    .option(
      '--at <time>',
      'ISO time to decide at, Amsterdam time unless it has an offset, e.g. 2026-03-02T08:15 (default: now)',
    )
    .option('--confidence <n>', 'read confidence 0–1000', '1000')
    .action(
      (plateArg: string, opts: { config: string; lane?: string; country: string; at?: string; confidence: string }) => {
        const site = loadSiteConfig(opts.config);
        const lane = opts.lane ?? site.lanes[0]!.id;
        if (!site.lanes.some((l) => l.id === lane))
          throw new UsageError(`--lane: no lane "${lane}" (lanes: ${site.lanes.map((l) => l.id).join(', ')})`);
        const at = opts.at === undefined ? systemClock.now() : parseAt(opts.at);
        const confidence = Number(opts.confidence);
        if (!Number.isInteger(confidence) || confidence < 0 || confidence > 1000)
          throw new UsageError(`--confidence: "${opts.confidence}" is not a whole number 0–1000`);
        const policy = zonePolicyFor(site, lane);
        const c = open(listCacheFile(site));
        try {
          const plate = canonicalText(plateArg);
          const country = opts.country.toUpperCase();
          const { grants, vehicle } = c.lookups.entry(plate, country);
          const decision = decide(
            {
              id: 'cache-check',
              lane,
              text: plate,
              country,
              confidence,
              reads: 1,
              consistentReads: 1,
              alternatives: [],
              firstSeenAt: at,
              lastSeenAt: at,
              trigger: 'consistent-reads',
            },
            at,
            c.lookups,
            policy,
          );
          process.stdout.write(
            `${JSON.stringify(
              {
                plate: displayPlate({ text: plate, country }),
                at: new Date(at).toISOString(),
                localDate: localDate(at),
                grants,
                vehicle: vehicle ?? null,
                decision,
              },
              null,
              2,
            )}\n`,
          );
        } finally {
          c.close();
        }
      },
    );
}
