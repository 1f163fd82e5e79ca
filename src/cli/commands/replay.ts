import type { Command } from 'commander';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { formatProblem, importListCsv, openListCache, type ListCache } from '../../cache/index.js';
import { loadSiteConfig } from '../../config/load.js';
import { Gateway } from '../../gateway/gateway.js';
import type { PipelineEvent } from '../../gateway/pipeline.js';
import { displayPlate } from '../../plate/key.js';
import { ManualClock } from '../../shared/clock.js';
import { createLogger } from '../../shared/log.js';
import {
  CaptureFormatError,
  ReplayInputError,
  captureStartTime,
  isCaptureFile,
  replayCapture,
} from '../../sources/index.js';
import { UsageError } from '../main.js';

interface ReplayCliOptions {
  readonly config: string;
  readonly source?: string;
  readonly dialect?: string;
  readonly lists?: string[];
  readonly at?: string;
  readonly timing?: 'auto' | 'capture' | 'camera' | 'none';
}

/** After the last read: long enough for every passage window, hold-off and bollard cycle to finish. */
const SETTLE_MS = 120_000;

/** One JSON line per decision: what a technician compares with what happened in the field. */
function decisionLine(e: Extract<PipelineEvent, { type: 'decision' }>, at: number): string {
  const d = e.decision;
  return JSON.stringify({
    seq: e.seq,
    at: new Date(at).toISOString(),
    lane: e.passage.lane,
    passageId: e.passage.id,
    plate: displayPlate({ text: d.plate, country: d.country }),
    country: d.country,
    read: e.passage.text,
    reads: e.passage.reads,
    confidence: e.passage.confidence,
    outcome: d.outcome,
    reason: d.reason,
    ...(d.grantId ? { grantId: d.grantId } : {}),
    ...(d.rule ? { rule: d.rule } : {}),
    ...(d.ruleVersion ? { ruleVersion: d.ruleVersion } : {}),
    corrected: d.corrected,
    listVersion: d.listVersion,
  });
}

/** A capture the technician gave that cannot be read as asked is a usage error, not a crash. */
async function userError<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof CaptureFormatError || err instanceof ReplayInputError) throw new UsageError(err.message);
    throw err;
  }
}

export function registerReplay(program: Command): void {
  program
    .command('replay')
    .description(
      'feed a recorded capture through the real pipeline (lists, passage grouping, decide, simulated bollard); one JSON line per decision on stdout',
    )
    .argument('<capture>', 'a capture from `zonegate capture`, or a text file of dialect lines')
    .requiredOption('--config <site.yaml>', 'site profile whose lanes, policy and dialect apply')
    .option('--source <id>', 'the source the capture came from (default: the first serial/TCP source)')
    .option('--dialect <name>', "dialect of a plain capture (default: the source's)")
    .option(
      '--lists <csv>',
      "decide against this list CSV instead of the profile's list cache (repeat for grants and vehicle facts)",
      (value: string, previous: string[]) => [...previous, value],
      [] as string[],
    )
    .option('--at <time>', 'start time for a capture without timestamps (ISO 8601; default now)')
    .option('--timing <mode>', 'auto | capture | camera | none (see docs/camera-input.md)', 'auto')
    .action(async (capture: string, opts: ReplayCliOptions) => {
      const site = loadSiteConfig(opts.config);
      if (!existsSync(capture)) throw new UsageError(`${capture}: file not found`);
      const source =
        opts.source !== undefined
          ? site.sources.find((s) => s.id === opts.source)
          : site.sources.find((s) => s.kind !== 'rtsp');
      if (!source)
        throw new UsageError(
          opts.source !== undefined
            ? `--source: no source "${opts.source}" in ${opts.config} (sources: ${site.sources.map((s) => s.id).join(', ')})`
            : `${opts.config}: no serial or TCP source to replay a capture into`,
        );
      if (!['auto', 'capture', 'camera', 'none'].includes(opts.timing ?? 'auto'))
        throw new UsageError(`--timing: "${opts.timing}" is not one of auto, capture, camera, none`);
      const at = opts.at !== undefined ? Date.parse(opts.at) : undefined;
      if (at !== undefined && Number.isNaN(at)) throw new UsageError(`--at: "${opts.at}" is not an ISO 8601 time`);
      // A capture file names the dialect the camera spoke; a plain file is read in the source's.
      const dialect = opts.dialect ?? ((await isCaptureFile(capture)) ? undefined : source.dialect);

      const log = createLogger({ toStderr: true, level: process.env['ZONEGATE_LOG_LEVEL'] ?? 'warn' });
      const registry = new Registry();
      const start =
        (await userError(() => captureStartTime(capture, dialect !== undefined ? { dialect } : {}))) ??
        at ??
        Date.now();
      const clock = new ManualClock(start);
      // The replay's journal and any list it loads live in a scratch directory, never in the gateway's.
      const scratch = mkdtempSync(join(tmpdir(), 'zonegate-replay-'));
      let cache: ListCache | undefined;
      try {
        if (opts.lists && opts.lists.length > 0) {
          cache = openListCache(join(scratch, 'lists.sqlite'), { clock, log, registry });
          for (const file of opts.lists) {
            const result = importListCsv(cache, readFileSync(file, 'utf8'), { clock, merge: true });
            if (result.problems.length > 0)
              throw new UsageError(result.problems.map((p) => formatProblem(file, p)).join('\n'));
          }
        } else {
          const file = join(site.dataDir, 'lists.sqlite');
          if (!existsSync(file))
            throw new UsageError(`${file}: no list cache; give --lists FILE.csv or import one first`);
          // Another process (the running gateway) owns this cache: never clean up its files from here.
          cache = openListCache(file, { clock, log, registry }, { cleanup: false });
        }
        const gateway = new Gateway({
          site: { ...site, dataDir: scratch },
          mode: 'replay',
          configFile: opts.config,
          clock,
          log,
          registry,
          cache,
          onPipelineEvent: (e) => {
            if (e.type === 'decision') process.stdout.write(`${decisionLine(e, clock.now())}\n`);
          },
        });
        await gateway.start();
        const stats = await userError(() =>
          replayCapture(capture, {
            sourceId: source.id,
            lane: source.lane,
            ...(dialect !== undefined ? { dialect } : {}),
            sink: gateway.pipeline,
            clock,
            registry,
            timing: opts.timing ?? 'auto',
            maxClockSkewMs: source.maxClockSkewMs,
            ...(source.laneMap ? { laneMap: source.laneMap } : {}),
          }),
        );
        clock.advance(SETTLE_MS);
        await gateway.stop();
        const rejected = Object.entries(stats.rejected)
          .map(([reason, n]) => `${reason} ${n}`)
          .join(', ');
        process.stderr.write(
          `replayed ${capture} (${stats.format}, dialect ${stats.dialect}, timing ${stats.timing}): ${stats.reads} reads${rejected ? `, rejected: ${rejected}` : ''}\n`,
        );
      } finally {
        cache?.close();
        rmSync(scratch, { recursive: true, force: true });
      }
    });
}
