import { BollardSimulator, simulatorOptionsFrom } from '../../src/bollard/simulator.js';
import type { BollardInputs, BollardOutputs } from '../../src/bollard/types.js';
import { bollardSchema, type BollardConfig } from '../../src/config/schema.js';
import { systemClock } from '../../src/shared/clock.js';
import type { GpioTree } from './gpio-tree.js';

/**
 * The bollard simulator wired to a GPIO tree: it sees the output pins as a real controller's
 * relay inputs would (physical levels, with the site's output polarity) and puts its limit
 * switches, loops and fault contacts on the input wires. Hardware in the loop, on real time.
 */
export async function wireSimulator(
  tree: GpioTree,
  bollard: Record<string, unknown>,
  options: { initialHeight?: number } = {},
): Promise<{ sim: BollardSimulator; config: BollardConfig; stop: () => Promise<void> }> {
  const config = bollardSchema.parse({ ...bollard, driver: 'gpio' });
  const pins = config.pins!;
  const sim = new BollardSimulator({ ...simulatorOptionsFrom(config, systemClock), ...options });
  const outputActive = (bcm: number | undefined): boolean => {
    if (bcm === undefined) return false;
    const level = tree.level(tree.bcm(bcm));
    return level !== undefined && level !== config.outputActiveLow;
  };
  const sync = (): void => {
    const outputs: BollardOutputs = {
      lower: outputActive(pins.lower),
      raise: outputActive(pins.raise),
      openRequest: outputActive(pins.openRequest),
      lightRed: outputActive(pins.lightRed),
      lightGreen: outputActive(pins.lightGreen),
      warning: outputActive(pins.warning),
      heartbeat: outputActive(pins.heartbeat),
    };
    sim.write(outputs);
  };
  const wire = (bcm: number | undefined, active: boolean): void => {
    if (bcm !== undefined) tree.setInput(tree.bcm(bcm), active !== config.activeLow);
  };
  const setWires = (i: BollardInputs): void => {
    wire(pins.positionDown, i.positionDown);
    wire(pins.positionUp, i.positionUp);
    pins.loops.forEach((bcm, k) => wire(bcm, i.loops[k] ?? false));
    wire(pins.emergency, i.emergency);
    wire(pins.controllerFault, i.controllerFault);
    wire(pins.manualOverride, i.manualOverride);
  };
  const offWrite = tree.onWrite(sync);
  const offInputs = sim.onInputs(setWires);
  await sim.start();
  sync();
  setWires(sim.read());
  return {
    sim,
    config,
    stop: async () => {
      offWrite();
      offInputs();
      await sim.stop();
    },
  };
}
