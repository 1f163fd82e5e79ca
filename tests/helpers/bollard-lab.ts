import { Registry } from 'prom-client';
import { createBollardLane, type BollardLane } from '../../src/bollard/index.js';
import type { BollardSimulator } from '../../src/bollard/simulator.js';
import type { BollardEvent, BollardOutputs } from '../../src/bollard/types.js';
import { bollardSchema, type BollardConfig } from '../../src/config/schema.js';
import { ManualClock } from '../../src/shared/clock.js';
import { silentLogger } from '../../src/shared/log.js';

/** A simulated lane on a ManualClock, with every event and every output write recorded. */
export interface BollardLab {
  readonly clock: ManualClock;
  readonly lane: BollardLane;
  readonly sim: BollardSimulator;
  readonly config: BollardConfig;
  readonly events: BollardEvent[];
  /** The outputs on the (simulated) pins at the moment each event was reported. */
  readonly outputsAtEvent: BollardOutputs[];
  /** Every output write, `at` in ms since the lab started (monotonic, so wall-clock steps do not move it). */
  readonly writes: { at: number; outputs: BollardOutputs }[];
  readonly registry: Registry;
  /** Time since the lab started, ms (monotonic). */
  t(): number;
  states(): string[];
  /** Advances the clock in small steps until `done` holds; throws after `maxMs`. */
  until(done: () => boolean, maxMs?: number, stepMs?: number): void;
}

export async function bollardLab(
  bollard: Record<string, unknown> = {},
  simulator: Parameters<typeof createBollardLane>[0]['simulator'] = {},
  /** Called before the lane starts: a listener added here sees input changes before the controller. */
  beforeStart?: (sim: BollardSimulator, clock: ManualClock) => void,
): Promise<BollardLab> {
  const clock = new ManualClock();
  const start = clock.monotonic();
  const config = bollardSchema.parse({ driver: 'simulator', ...bollard });
  const events: BollardEvent[] = [];
  const outputsAtEvent: BollardOutputs[] = [];
  const writes: { at: number; outputs: BollardOutputs }[] = [];
  const registry = new Registry();
  const lane = createBollardLane({
    laneId: 'in-1',
    config,
    clock,
    log: silentLogger,
    registry,
    onEvent: (e) => {
      events.push(e);
      outputsAtEvent.push(lane.simulator!.readOutputs());
    },
    simulator,
  });
  const sim = lane.simulator!;
  const write = sim.write.bind(sim);
  sim.write = (outputs: BollardOutputs): void => {
    writes.push({ at: clock.monotonic() - start, outputs });
    write(outputs);
  };
  beforeStart?.(sim, clock);
  await lane.start();
  return {
    clock,
    lane,
    sim,
    config,
    events,
    outputsAtEvent,
    writes,
    registry,
    t: () => clock.monotonic() - start,
    states: () => events.flatMap((e) => (e.to && e.type !== 'refused' ? [e.to] : [])),
    until(done, maxMs = 120_000, stepMs = 10) {
      for (let waited = 0; !done(); waited += stepMs) {
        if (waited >= maxMs) throw new Error(`condition not reached within ${maxMs} ms of simulated time`);
        clock.advance(stepMs);
      }
    },
  };
}
