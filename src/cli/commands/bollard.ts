import type { Command } from 'commander';
import { Registry } from 'prom-client';
import type { ParkResult } from '../../bollard/controller.js';
import { createBollardLane, type BollardLane } from '../../bollard/lane.js';
import { GpioError, SYSFS_GPIO_ROOT } from '../../bollard/gpiochip.js';
import { laneLockHolder, LaneLockError } from '../../bollard/lock.js';
import { probeBollard, type BollardProbe } from '../../bollard/probe.js';
import type { BollardEvent } from '../../bollard/types.js';
import { loadSiteConfig } from '../../config/load.js';
import type { BollardConfig, SiteConfig } from '../../config/schema.js';
import { systemClock } from '../../shared/clock.js';
import { createLogger } from '../../shared/log.js';
import { UsageError } from '../main.js';
import type { RegisterCommand } from './index.js';

/**
 * Technician commands for a lane's bollard. `status` only reads. `test`, `hold` and `failsafe`
 * take control of the pins, which the running gateway holds: they refuse while it runs (stop
 * it first), so two processes never drive one bollard.
 */

/** How long `bollard hold` may last. */
export const HOLD_DURATION = { minMs: 1000, maxMs: 60 * 60_000, text: 'between 1 s and 1 h' } as const;

function bollardLanes(site: SiteConfig): { id: string; bollard: BollardConfig }[] {
  return site.lanes.flatMap((l) => (l.bollard ? [{ id: l.id, bollard: l.bollard }] : []));
}

function pickLane(site: SiteConfig, laneId: string): { id: string; bollard: BollardConfig } {
  const lanes = bollardLanes(site);
  const lane = lanes.find((l) => l.id === laneId);
  if (!lane)
    throw new UsageError(
      `no bollard on lane "${laneId}" (lanes with a bollard: ${lanes.map((l) => l.id).join(', ') || 'none'})`,
    );
  return lane;
}

/** "90s", "5m", "1h", "1500ms" or plain milliseconds; `range` names the bounds in the message. */
export function parseDuration(
  text: string,
  option: string,
  range?: { readonly minMs: number; readonly maxMs: number; readonly text: string },
): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!m) throw new UsageError(`${option}: expected a duration such as 90s, 5m or 1h, got "${text}"`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] ?? 'ms'] ?? 1;
  const ms = Math.round(Number(m[1]) * unit);
  if (range && (ms < range.minMs || ms > range.maxMs)) throw new UsageError(`${option}: ${range.text}, got "${text}"`);
  return ms;
}

const clockTime = (at: number): string => new Date(at).toISOString().slice(11, 23);

function describe(e: BollardEvent): string {
  switch (e.type) {
    case 'transition':
      return `${e.from} → ${e.to} (${e.reason})${e.command ? ` ${e.command}` : ''}`;
    case 'fault':
      return `FAULT ${e.fault}: ${e.detail ?? e.reason}`;
    case 'fault-cleared':
      return `fault cleared (${e.reason})`;
    case 'refused':
      return `open refused (${e.reason})`;
    case 'vehicle':
      return `vehicle ${e.reason}`;
  }
}

export interface LaneSession<T> {
  /** What `work` returned; undefined when a signal came before it could start. */
  readonly value: T | undefined;
  /** The signal that interrupted the work, if one did. */
  readonly interrupted: NodeJS.Signals | undefined;
  /** Where parking left the bollard, when the session parked it. */
  readonly park: ParkResult | undefined;
}

/**
 * Runs `work` with the lane under this process's control, then parks the bollard in the site's
 * fail state under the interlocks (as the gateway's stop does) and lets go.
 *
 * SIGINT and SIGTERM never kill it in the middle of a movement: the first one aborts `work`
 * (its AbortSignal) when `interruptible`, and the session goes on to park; any signal while it
 * parks is refused with a message, because the park is bounded by its own time. Only SIGKILL
 * ends it at once, and then the outputs keep their levels (the failsafe command finishes).
 */
async function withLane<T>(
  laneId: string,
  bollard: BollardConfig,
  options: { quiet?: boolean; interruptible?: boolean; parkWithinMs?: number },
  work: (lane: BollardLane, signal: AbortSignal) => Promise<T>,
  stop: { park: boolean } = { park: true },
): Promise<LaneSession<T>> {
  const out = process.stdout;
  const lane = createBollardLane({
    laneId,
    config: bollard,
    clock: systemClock,
    log: createLogger({ name: 'zonegate-bollard', level: process.env['ZONEGATE_LOG_LEVEL'] ?? 'warn' }),
    registry: new Registry(),
    onEvent: (e) => {
      if (!options.quiet) out.write(`${clockTime(e.at)}  ${laneId}  ${describe(e)}\n`);
    },
  });
  const target = bollard.failMode === 'fail-open' ? 'down' : 'up';
  const abort = new AbortController();
  let parking = options.interruptible === false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (!parking && !abort.signal.aborted) {
      abort.abort(signal);
      process.stderr.write(
        `\nzonegate bollard: ${signal}: stopping; parking ${laneId} ${target} (${bollard.failMode}) under the interlocks\n`,
      );
      return;
    }
    const bound = Math.ceil((options.parkWithinMs ?? parkBoundMs(lane)) / 1000);
    process.stderr.write(
      `zonegate bollard: ${signal} ignored: parking ${laneId} ${target} (${bollard.failMode}), at most ${bound} s; ` +
        'the bollard is not left in the middle of a movement\n',
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // The clock's timers do not keep Node alive (the gateway has other handles); this does.
  const keepAlive = setInterval(() => undefined, 60_000);
  try {
    await lane.start();
    let value: T | undefined;
    let park: ParkResult | undefined;
    try {
      if (!abort.signal.aborted) value = await work(lane, abort.signal);
    } finally {
      parking = true;
      try {
        if (stop.park) park = await lane.controller.park();
      } finally {
        await lane.stop({ park: false });
      }
    }
    const interrupted = abort.signal.aborted ? (abort.signal.reason as NodeJS.Signals) : undefined;
    return { value, interrupted, park };
  } finally {
    clearInterval(keepAlive);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** The longest controller.park(withinMs) can take: its wait, then a movement under way may finish. */
function parkBoundMs(lane: BollardLane, withinMs = lane.controller.defaultParkMs()): number {
  const c = lane.controller.config;
  return withinMs + c.warningMs + c.travelMs + 100;
}

/**
 * Tells how the session ended for `test` and `hold`: an interruption or a bollard that could not
 * be parked is exit 1. Returns whether it was either.
 */
function reportSession(laneId: string, bollard: BollardConfig, what: string, session: LaneSession<unknown>): boolean {
  const park = session.park;
  const where = park
    ? park.reached
      ? `parked ${park.target} (${bollard.failMode})`
      : `NOT ${park.target} (state ${park.state}); outputs left in the safe state, run zonegate bollard failsafe when the lane is clear`
    : 'not parked';
  if (session.interrupted) {
    process.stderr.write(`zonegate bollard: ${what} interrupted by ${session.interrupted}; ${laneId} ${where}\n`);
    process.exitCode = 1;
    return true;
  }
  if (park && !park.reached) {
    process.stderr.write(`zonegate bollard: ${laneId} ${where}\n`);
    process.exitCode = 1;
    return true;
  }
  return false;
}

/** GPIO and lock problems are the technician's to fix: a message and exit 1, no stack trace. */
async function reporting(action: () => Promise<void>): Promise<void> {
  try {
    await action();
  } catch (err) {
    if (err instanceof GpioError || err instanceof LaneLockError) {
      process.stderr.write(`zonegate bollard: ${err.message}\n`);
      process.exitCode = 1;
      return;
    }
    throw err;
  }
}

function formatProbe(laneId: string, b: BollardConfig, p: BollardProbe, holder: number | undefined): string {
  const on = (x: boolean): string => (x ? 'ACTIVE' : 'inactive');
  const pin = (role: string): string => {
    const r = p.pins.find((x) => x.role === role);
    if (!r) return '';
    if (r.error) return ` [BCM${r.bcm}: ${r.error}]`;
    return ` [BCM${r.bcm}/gpio${r.gpio}]`;
  };
  const lines = [
    `lane ${laneId}: gpio, ${b.mode}, ${b.failMode}; chip ${p.chip.name} "${p.chip.label}" base ${p.chip.base}`,
    `  controlled by  ${holder ? `process ${holder} (the gateway)` : 'nobody: outputs as last left'}`,
    `  position       ${p.position} (down switch ${on(p.inputs.positionDown)}${pin('positionDown')}, up switch ${on(p.inputs.positionUp)}${pin('positionUp')})`,
    `  loops          ${p.inputs.loops.map((x, i) => `${i + 1}: ${x ? 'VEHICLE' : 'clear'}${pin(`loops[${i}]`)}`).join(', ')}`,
    `  emergency      ${on(p.inputs.emergency)}   controller fault ${on(p.inputs.controllerFault)}   manual ${on(p.inputs.manualOverride)}`,
    `  outputs        ${p.pins
      .filter((x) => !x.input)
      .map((x) => `${x.role} ${x.error ? `? (${x.error})` : x.released ? 'released' : on(x.active ?? false)}`)
      .join(', ')}`,
  ];
  return lines.join('\n');
}

export const registerBollard: RegisterCommand = (program: Command) => {
  const cmd = program
    .command('bollard')
    .description('bollard technician commands: status, supervised test cycle, manual hold, failsafe');

  cmd
    .command('status')
    .description('read every bollard pin as it is (drives nothing; works while the gateway runs)')
    .requiredOption('-c, --config <file>', 'site profile (YAML)')
    .option('--lane <id>', 'only this lane')
    .option('--json', 'one JSON object instead of text')
    .action(async (opts: { config: string; lane?: string; json?: boolean }) => {
      const site = loadSiteConfig(opts.config);
      const lanes = opts.lane ? [pickLane(site, opts.lane)] : bollardLanes(site);
      const report: Record<string, unknown>[] = [];
      let failed = false;
      for (const { id, bollard } of lanes) {
        const holder = laneLockHolder(id);
        if (bollard.driver === 'simulator') {
          report.push({ lane: id, driver: 'simulator', controlledBy: holder ?? null });
          if (!opts.json)
            process.stdout.write(
              `lane ${id}: simulated bollard: it lives inside the gateway process; see its status page\n`,
            );
          continue;
        }
        try {
          const p = await probeBollard(bollard, { root: SYSFS_GPIO_ROOT });
          report.push({
            lane: id,
            driver: 'gpio',
            mode: bollard.mode,
            failMode: bollard.failMode,
            controlledBy: holder ?? null,
            chip: p.chip,
            position: p.position,
            inputs: p.inputs,
            outputs: p.outputs,
            pins: p.pins,
          });
          if (!opts.json) process.stdout.write(`${formatProbe(id, bollard, p, holder)}\n`);
          if (p.pins.some((x) => x.error)) failed = true;
        } catch (err) {
          if (!(err instanceof GpioError)) throw err;
          failed = true;
          report.push({ lane: id, driver: 'gpio', error: { code: err.code, message: err.message } });
          if (!opts.json) process.stdout.write(`lane ${id}: ${err.message}\n`);
        }
      }
      if (opts.json) process.stdout.write(`${JSON.stringify({ lanes: report })}\n`);
      process.exitCode = failed ? 1 : 0;
    });

  cmd
    .command('test')
    .description('a supervised down/up cycle with measured travel times; refuses while a loop is occupied')
    .argument('<lane>', 'lane id')
    .requiredOption('-c, --config <file>', 'site profile (YAML)')
    .option('--json', 'print the report as JSON')
    .action(async (laneId: string, opts: { config: string; json?: boolean }) => {
      const site = loadSiteConfig(opts.config);
      const { id, bollard } = pickLane(site, laneId);
      await reporting(async () => {
        const session = await withLane(id, bollard, { quiet: opts.json ?? false }, (lane, signal) =>
          lane.controller.runTest({ signal }),
        );
        const report = session.value ?? { ok: false, reason: 'interrupted' };
        const limit = bollard.timing.travelMs;
        if (opts.json) process.stdout.write(`${JSON.stringify({ lane: id, travelLimitMs: limit, ...report })}\n`);
        else if (report.ok)
          process.stdout.write(
            `test passed: down in ${report.downMs ?? '—'} ms, up in ${report.upMs ?? '—'} ms (limit ${limit} ms)\n`,
          );
        else process.stdout.write(`test FAILED: ${report.reason}${report.fault ? ` (${report.fault})` : ''}\n`);
        process.exitCode = report.ok ? 0 : 1;
        reportSession(id, bollard, 'test', session);
      });
    });

  cmd
    .command('hold')
    .description('keep the bollard down (or up, refusing openings) for a while; Ctrl-C ends the hold early')
    .argument('<lane>', 'lane id')
    .argument('<direction>', 'down or up')
    .requiredOption('-c, --config <file>', 'site profile (YAML)')
    .option('--for <duration>', 'how long, e.g. 90s, 10m (at most 1h)', '5m')
    .action(async (laneId: string, direction: string, opts: { config: string; for: string }) => {
      if (direction !== 'down' && direction !== 'up')
        throw new UsageError(`direction: expected down or up, got "${direction}"`);
      const ms = parseDuration(opts.for, '--for', HOLD_DURATION);
      const site = loadSiteConfig(opts.config);
      const { id, bollard } = pickLane(site, laneId);
      await reporting(async () => {
        const session = await withLane(id, bollard, {}, async (lane, signal) => {
          const held = lane.controller.hold(direction, ms);
          if (!held.accepted) {
            process.stdout.write(`hold refused: ${held.reason}\n`);
            process.exitCode = 1;
            return;
          }
          process.stdout.write(`holding ${id} ${direction} until ${new Date(held.until!).toISOString()}\n`);
          await new Promise<void>((resolve) => {
            const timer = setTimeout(finish, ms);
            function finish(): void {
              clearTimeout(timer);
              signal.removeEventListener('abort', finish);
              resolve();
            }
            signal.addEventListener('abort', finish, { once: true });
          });
          lane.controller.releaseHold();
          process.stdout.write(
            `hold ended${signal.aborted ? ' early' : ''}; leaving the bollard in its ${bollard.failMode} state\n`,
          );
        });
        reportSession(id, bollard, 'hold', session);
      });
    });

  cmd
    .command('failsafe')
    .description(
      "put every GPIO bollard in the site's fail state (systemd ExecStopPost): fail-open lowers, fail-secure raises when the loops are clear",
    )
    .requiredOption('-c, --config <file>', 'site profile (YAML)')
    .option('--lane <id>', 'only this lane')
    .option('--max-wait <duration>', 'how long to wait for loops to clear before leaving it down', '2m')
    .action(async (opts: { config: string; lane?: string; maxWait: string }) => {
      const site = loadSiteConfig(opts.config);
      const maxWait = parseDuration(opts.maxWait, '--max-wait');
      const lanes = opts.lane ? [pickLane(site, opts.lane)] : bollardLanes(site);
      let failed = false;
      for (const { id, bollard } of lanes) {
        if (bollard.driver !== 'gpio') {
          process.stdout.write(`lane ${id}: simulated bollard, nothing outlives the process\n`);
          continue;
        }
        await reporting(async () => {
          // Every signal is refused while it parks: leaving now is what the failsafe is there to prevent.
          const session = await withLane(
            id,
            bollard,
            { interruptible: false, parkWithinMs: maxWait + bollard.timing.warningMs + bollard.timing.travelMs + 100 },
            (lane) => lane.controller.park(maxWait),
            { park: false },
          );
          const park = session.value!;
          if (park.reached) process.stdout.write(`lane ${id}: ${park.target} (${bollard.failMode})\n`);
          else {
            failed = true;
            process.stdout.write(
              `lane ${id}: NOT ${park.target} (state ${park.state}); outputs left in the safe state\n`,
            );
          }
        });
        if (process.exitCode === 1) failed = true;
      }
      process.exitCode = failed ? 1 : 0;
    });
};
