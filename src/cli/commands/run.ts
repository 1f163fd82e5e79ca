import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Registry } from 'prom-client';
import { importListCsv, type ListCache } from '../../cache/index.js';
import { loadSiteConfig } from '../../config/load.js';
import type { SiteConfig } from '../../config/schema.js';
import { Gateway } from '../../gateway/gateway.js';
import { systemClock } from '../../shared/clock.js';
import { createLogger, type Logger } from '../../shared/log.js';
import { createLiveView } from '../live-view.js';
import { UsageError } from '../main.js';

/** The checkout or installed package root (dist/cli/commands or src/cli/commands → root). */
const packageRoot = fileURLToPath(new URL('../../../', import.meta.url));

export const DEMO_SITE = `${packageRoot}firmware-config/sites/demo.yaml`;
const DEMO_LISTS = ['grants.csv', 'vehicles.csv'].map((f) => `${packageRoot}firmware-config/demo/${f}`);
export const DEFAULT_SITE = '/etc/zonegate/site.yaml';

interface RunOptions {
  readonly config?: string;
  readonly demo?: boolean;
  readonly dataDir?: string;
  readonly live?: boolean;
  readonly statusPort?: string;
}

/** The demo profile, with its data kept in the checkout's var/demo unless told otherwise. */
export function demoSite(overrides: { dataDir?: string } = {}): SiteConfig {
  const site = loadSiteConfig(DEMO_SITE);
  return { ...site, dataDir: overrides.dataDir ?? `${packageRoot}var/demo` };
}

/** First start of the demo: its lists go into the empty cache, as a technician's import would. */
export function loadDemoLists(cache: ListCache, log: Logger): void {
  if (cache.info().version > 0) return;
  for (const file of DEMO_LISTS) {
    const result = importListCsv(cache, readFileSync(file, 'utf8'), { clock: systemClock, merge: true });
    if (result.problems.length > 0)
      throw new Error(`${file}: ${result.problems.map((p) => `line ${p.line}: ${p.message}`).join('; ')}`);
    log.info({ file, rows: result.applied, version: result.version }, 'demo list loaded');
  }
}

export function registerRun(program: Command): void {
  program
    .command('run')
    .description('run the gateway: read plates, decide, drive the bollards, journal and sync')
    .option('--config <site.yaml>', `site profile (default ${DEFAULT_SITE})`)
    .option('--demo', 'the built-in demo: simulated camera and bollard, demo lists, local broker')
    .option('--data-dir <dir>', "overrides the profile's dataDir")
    .option('--status-port <port>', "overrides the profile's status page port (0: any free port)")
    .option(
      '--live',
      'show reads, decisions and bollard movements in the terminal (default: on a terminal or with --demo)',
    )
    .option('--no-live', 'no live view; structured log lines only')
    .action(async (opts: RunOptions) => {
      if (opts.demo && opts.config) throw new UsageError('give either --demo or --config, not both');
      let site = opts.demo
        ? demoSite(opts.dataDir ? { dataDir: opts.dataDir } : {})
        : loadSiteConfig(opts.config ?? DEFAULT_SITE);
      if (opts.dataDir) site = { ...site, dataDir: opts.dataDir };
      if (opts.statusPort !== undefined) {
        const port = Number(opts.statusPort);
        if (!Number.isInteger(port) || port < 0 || port > 65535)
          throw new UsageError(`--status-port: "${opts.statusPort}" is not a port number`);
        site = { ...site, status: { ...site.status, port } };
      }
      const live = opts.live ?? (opts.demo === true || process.stdout.isTTY === true);
      const log = createLogger({
        toStderr: live,
        ...(live && !process.env['ZONEGATE_LOG_LEVEL'] ? { level: 'warn' } : {}),
      });
      const view = live ? createLiveView() : undefined;
      const gateway = new Gateway({
        site,
        mode: 'run',
        ...(opts.config ? { configFile: opts.config } : {}),
        clock: systemClock,
        log,
        registry: new Registry(),
        ...(view ? { onPipelineEvent: (e) => view.pipeline(e), onBollardEvent: (e) => view.bollardEvent(e) } : {}),
      });
      // The clock's timers do not hold the process open; this does, until the gateway has stopped
      // (a bollard parking in its fail state waits on those timers).
      const keepAlive = setInterval(() => undefined, 3_600_000);
      const stopped = new Promise<void>((resolve) => {
        let stopping = false;
        const stop = (signal: string): void => {
          if (stopping) return;
          stopping = true;
          log.info({ signal }, 'stopping');
          view?.note(`${signal}: stopping (the bollard parks in its fail state)`);
          gateway.stop().then(resolve, (err: unknown) => {
            log.error({ err: String(err) }, 'stop failed');
            resolve();
          });
        };
        process.once('SIGINT', () => stop('SIGINT'));
        process.once('SIGTERM', () => stop('SIGTERM'));
      });
      try {
        await gateway.start();
      } catch (err) {
        clearInterval(keepAlive);
        throw err;
      }
      if (opts.demo) {
        const before = gateway.cache.info().version;
        loadDemoLists(gateway.cache, log);
        if (before === 0) gateway.board.list(gateway.cache.info());
      }
      const info = gateway.cache.info();
      const status = gateway.statusAddress;
      view?.note(
        `zonegate ${site.gateway.id} (${site.gateway.site}): ${site.lanes.length} lane(s), list version ${info.version} (${info.grants} grants), data in ${site.dataDir}`,
      );
      if (status)
        view?.note(
          `status page: http://${status.host}:${status.port}/${site.status.token ? ` (token: ${site.status.token})` : ''} — Ctrl-C stops`,
        );
      log.info(
        { gateway: site.gateway.id, lanes: site.lanes.length, listVersion: info.version, status },
        'gateway running',
      );
      await stopped;
      clearInterval(keepAlive);
    });
}
