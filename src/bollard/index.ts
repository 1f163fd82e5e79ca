/**
 * Bollard control: the per-lane controller (a pure state machine with an imperative shell),
 * the GPIO driver (onoff, sysfs) and the simulator. The gateway uses createBollardLane and
 * bollardEventToJournal; see docs/bollard.md.
 */
export { createBollardLane, bollardEventToJournal, type BollardLane, type BollardLaneDeps } from './lane.js';
export {
  BollardController,
  type BollardControllerDeps,
  type BollardTestReport,
  type HoldResult,
  type ParkResult,
} from './controller.js';
export {
  BollardSimulator,
  simulatorOptionsFrom,
  type SimFault,
  type SimSnapshot,
  type SimStats,
  type SimVehicle,
  type SimVehicleEvent,
  type SimulatorOptions,
  type VehicleSpec,
} from './simulator.js';
export { GpioBollardDriver, type GpioDriverOptions } from './gpio-driver.js';
export {
  findGpioChip,
  listGpioChips,
  GpioError,
  HEADER_CHIP_LABELS,
  SYSFS_GPIO_ROOT,
  type GpioChip,
  type GpioErrorCode,
} from './gpiochip.js';
export { lockLane, laneLockHolder, LaneBusyError, LaneLockError, defaultRunDir } from './lock.js';
export {
  step,
  outputsOf,
  nextDeadline,
  initialMachine,
  clearForRaise,
  type Machine,
  type MachineConfig,
  type MachineInput,
  type MachineTime,
  type StepResult,
} from './machine.js';
export * from './types.js';
