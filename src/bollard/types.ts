/**
 * The gateway's view of one bollard ("poller"). The bollard controller owns the hardware
 * interlocks; the gateway requests and reads back, and adds interlocks of its own.
 */
export type BollardPosition = 'down' | 'up' | 'moving' | 'unknown';

/** Levels read from the bollard's inputs, already debounced; true = active. */
export interface BollardInputs {
  readonly positionDown: boolean;
  readonly positionUp: boolean;
  /** One entry per safety loop (veiligheidslus): true = vehicle present. */
  readonly loops: readonly boolean[];
  readonly emergency: boolean;
  readonly controllerFault: boolean;
  readonly manualOverride: boolean;
}

/**
 * Logical output levels, true = active (energised), before the pins' polarity is applied.
 * `lower` and `raise` are maintained levels and never both active. Outputs a site has no pin
 * for are still computed; the driver ignores them.
 */
export interface BollardOutputs {
  readonly lower: boolean;
  readonly raise: boolean;
  readonly openRequest: boolean;
  readonly lightRed: boolean;
  readonly lightGreen: boolean;
  readonly warning: boolean;
  readonly heartbeat: boolean;
}

/** A motion command as journaled; `open` is the open-request pulse of mode open-pulse. */
export type BollardCommand = 'lower' | 'raise' | 'stop' | 'open';

/**
 * Hardware edge: GPIO through onoff, or the simulator. `write` is synchronous: when it returns
 * the levels are on the pins (the pipeline journals an opening only after that).
 */
export interface BollardDriver {
  readonly kind: 'gpio' | 'simulator';
  /** Number of safety loops this bollard has (1 or 2). */
  readonly loopCount: number;
  /** Acquires the pins; outputs that were already driven keep their level (no glitch on restart). */
  start(): Promise<void>;
  /** Releases the pins' handles. Outputs keep their last level (sysfs GPIO does). */
  stop(): Promise<void>;
  /** Drives the outputs that changed; throws a DriverError when a write fails. */
  write(outputs: BollardOutputs): void;
  /** The outputs as last written or, right after start, as found on the pins. */
  readOutputs(): BollardOutputs;
  read(): BollardInputs;
  /** Called after inputs changed (debounced), with the new levels; returns an unsubscribe function. */
  onInputs(listener: (inputs: BollardInputs) => void): () => void;
}

/**
 * States of the gateway's per-lane controller. `idle-up`: up and closed; `held-down`: down for
 * traffic; `warning`: still down, warning output on before a rise; `emergency-down`: lowered
 * and held by the emergency input; `manual`: the controller is in local operation; `fault`:
 * latched, outputs in the site's safe state; `starting`/`stopped`: not in control.
 */
export type ControllerState =
  | 'starting'
  | 'idle-up'
  | 'lowering'
  | 'held-down'
  | 'warning'
  | 'raising'
  | 'emergency-down'
  | 'manual'
  | 'fault'
  | 'stopped';

/** Why the controller gave up control of a movement; every code is journaled as a fault. */
export type BollardFaultCode =
  | 'lower-timeout' // no down confirmation within the travel time
  | 'raise-timeout' // no up confirmation within the travel time
  | 'position-conflict' // both limit switches active
  | 'position-lost' // a confirmed position was left without a command
  | 'controller-fault' // the controller's own fault input
  | 'io-error'; // a GPIO write failed

/**
 * A bollard transition, fault or refusal, for the journal and the status page.
 * - transition: `from` → `to` with the reason and the motion command written (if any)
 * - fault: `fault` code and `detail`; `to` is 'fault'
 * - fault-cleared: a latched fault was reset (by a technician or the controller's fault input clearing)
 * - refused: an open request that was not carried out (`passageId`, reason)
 * - vehicle: a vehicle passed the loops (`reason` 'passed', or 'unannounced' when no opening
 *   was pending: a tailgater or a vehicle let through by the controller itself)
 */
export interface BollardEvent {
  readonly lane: string;
  readonly at: number;
  readonly type: 'transition' | 'fault' | 'fault-cleared' | 'refused' | 'vehicle';
  readonly from?: ControllerState;
  readonly to?: ControllerState;
  readonly command?: BollardCommand;
  readonly reason: string;
  readonly passageId?: string;
  readonly fault?: BollardFaultCode;
  readonly detail?: string;
  readonly position?: BollardPosition;
}

/** What `requestOpen` did, synchronously, after the GPIO write. */
export interface OpenResult {
  readonly accepted: boolean;
  /** 'lowering', 'already-down', 'reversed' … or the refusal reason ('fault', 'manual', 'held-up', 'not-started'). */
  readonly reason: string;
  readonly state: ControllerState;
}

/**
 * A technician's hold: keep the bollard down (or up, refusing openings) until `until`: on the
 * monotonic clock inside the state machine, as a wall-clock time in BollardStatus.
 */
export interface BollardHold {
  readonly direction: 'down' | 'up';
  readonly until: number;
}

/** Snapshot for the status page, the CLI and tests. */
export interface BollardStatus {
  readonly lane: string;
  readonly driver: 'gpio' | 'simulator';
  readonly mode: 'lower-raise' | 'open-pulse';
  readonly failMode: 'fail-secure' | 'fail-open';
  readonly state: ControllerState;
  readonly since: number;
  readonly reason: string;
  readonly position: BollardPosition;
  readonly inputs: BollardInputs;
  readonly outputs: BollardOutputs;
  readonly fault?: { readonly code: BollardFaultCode; readonly detail: string; readonly at: number };
  /** `until` as the wall clock reads now (the hold runs on the monotonic clock). */
  readonly hold?: BollardHold;
  /** Openings granted and not yet used by a passing vehicle. */
  readonly pendingPassages: number;
  /**
   * ms epoch when all loops last became clear, as the wall clock reads now (the clearance is
   * measured on the monotonic clock); undefined while a loop is occupied.
   */
  readonly loopsClearSince?: number;
}

export const ALL_OFF: BollardOutputs = Object.freeze({
  lower: false,
  raise: false,
  openRequest: false,
  lightRed: false,
  lightGreen: false,
  warning: false,
  heartbeat: false,
});

export function positionOf(inputs: BollardInputs): BollardPosition {
  if (inputs.positionDown && inputs.positionUp) return 'unknown';
  if (inputs.positionDown) return 'down';
  if (inputs.positionUp) return 'up';
  return 'moving';
}
