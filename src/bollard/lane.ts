import type { Registry } from 'prom-client';
import type { BollardConfig } from '../config/schema.js';
import type { JournalEntryInput } from '../journal/types.js';
import type { Clock } from '../shared/clock.js';
import type { Lifecycle } from '../shared/lifecycle.js';
import type { Logger } from '../shared/log.js';
import { BollardController } from './controller.js';
import { GpioBollardDriver } from './gpio-driver.js';
import { lockLane } from './lock.js';
import { BollardSimulator, simulatorOptionsFrom, type SimulatorOptions } from './simulator.js';
import type { BollardDriver, BollardEvent } from './types.js';

export interface BollardLaneDeps {
  readonly laneId: string;
  readonly config: BollardConfig;
  readonly clock: Clock;
  readonly log: Logger;
  readonly registry: Registry;
  /** Transitions, faults, refusals and passing vehicles; the gateway journals them (see bollardEventToJournal). */
  readonly onEvent: (event: BollardEvent) => void;
  /** GPIO driver options: input paths (both on by default) and the sysfs root used to find the chip. */
  readonly gpio?: { readonly interrupts?: boolean; readonly scan?: boolean; readonly gpioRoot?: string };
  /** Directory for the lane lock of a GPIO lane (default $ZONEGATE_RUN_DIR or /run/zonegate). */
  readonly runDir?: string;
  /** Simulator settings beyond the site config (e.g. the starting height). */
  readonly simulator?: Partial<Omit<SimulatorOptions, 'clock'>>;
}

export interface BollardLane extends Lifecycle {
  readonly laneId: string;
  /** Parks in the fail state first (see BollardController.stop), unless `park` is false. */
  stop(options?: { park?: boolean; parkWithinMs?: number }): Promise<void>;
  /** The pipeline's LaneActuator: `requestOpen(passageId)` writes the outputs before it returns. */
  readonly controller: BollardController;
  readonly driver: BollardDriver;
  /** Set for driver simulator: the traffic and fault API for the demo and tests. */
  readonly simulator?: BollardSimulator;
}

/**
 * One lane's bollard from the site config: the driver (GPIO or simulator) and its controller.
 * `start()` takes the lane lock (GPIO), acquires the pins and takes control from what they
 * show; `stop()` parks the bollard in the site's fail state and lets go.
 */
export function createBollardLane(deps: BollardLaneDeps): BollardLane {
  const { laneId, config, clock, log, registry } = deps;
  let simulator: BollardSimulator | undefined;
  let driver: BollardDriver;
  if (config.driver === 'simulator') {
    simulator = new BollardSimulator({ ...simulatorOptionsFrom(config, clock), ...deps.simulator, clock });
    driver = simulator;
  } else {
    driver = new GpioBollardDriver({ laneId, config, clock, log, registry, ...deps.gpio });
  }
  const controller = new BollardController({ laneId, config, driver, clock, log, registry, onEvent: deps.onEvent });
  let lock: { release: () => void } | undefined;
  return {
    name: `bollard-lane:${laneId}`,
    laneId,
    controller,
    driver,
    ...(simulator ? { simulator } : {}),
    async start() {
      if (config.driver === 'gpio') lock = lockLane(laneId, deps.runDir);
      try {
        await controller.start();
      } catch (err) {
        lock?.release();
        lock = undefined;
        throw err;
      }
    },
    async stop(options = {}) {
      try {
        await controller.stop(options);
      } finally {
        lock?.release();
        lock = undefined;
      }
    },
  };
}

/** A bollard event as a journal entry: faults as 'fault', everything else as 'bollard'. */
export function bollardEventToJournal(event: BollardEvent): JournalEntryInput {
  const { lane, at, ...payload } = event;
  return {
    type: event.type === 'fault' ? 'fault' : 'bollard',
    at,
    lane,
    payload: event.type === 'fault' ? { ...payload, fault: event.fault ?? event.reason, origin: 'bollard' } : payload,
  };
}
