import {
  positionOf,
  type BollardCommand,
  type BollardEvent,
  type BollardFaultCode,
  type BollardHold,
  type BollardInputs,
  type BollardOutputs,
  type ControllerState,
  type OpenResult,
} from './types.js';

/**
 * The per-lane bollard state machine: a pure function from (state, input, time) to the next
 * state and the events to journal. Outputs are a pure function of the state. No timers, no
 * I/O: the controller (controller.ts) feeds it inputs and ticks at `nextDeadline`, and writes
 * `outputsOf` to the driver after every step.
 *
 * The gateway's own interlocks, on top of the bollard controller's:
 * - upward motion is requested only when every loop has been clear for `clearanceMs`; a loop
 *   turning occupied during the warning or the rise lowers again in the same step;
 * - the emergency input lowers and holds until released;
 * - a movement not confirmed by its limit switch within `travelMs` is a latched fault, never
 *   retried: the outputs go to the safe state (no raise; lower unless the site is fail-secure
 *   and the bollard is confirmed up) until a technician resets it;
 * - green only while the bollard is held down and its down switch confirms it.
 *
 * Every interval (travel deadline, clearance, warning lead, maximum hold-down, pulse,
 * technician hold) is measured on the monotonic clock: a gateway without a real-time clock has
 * its wall clock stepped by NTP after a boot, and a step must neither delay a fault (nor keep
 * the bollard down) nor make a deadline look passed. The wall clock only stamps events and
 * `since` for people to read.
 */

/** Both clock readings at one instant: `mono` for every interval and deadline, `wall` for timestamps. */
export interface MachineTime {
  /** Steady milliseconds (Clock.monotonic()); all deadlines in a Machine are on this clock. */
  readonly mono: number;
  /** Milliseconds since the epoch (Clock.now()); only for `at` and `since`. */
  readonly wall: number;
}

export interface MachineConfig {
  readonly lane: string;
  readonly mode: 'lower-raise' | 'open-pulse';
  readonly failMode: 'fail-secure' | 'fail-open';
  readonly travelMs: number;
  readonly clearanceMs: number;
  readonly maxHoldDownMs: number;
  readonly warningMs: number;
  readonly pulseMs: number;
}

export interface MachineFault {
  readonly code: BollardFaultCode;
  readonly detail: string;
  /** Wall clock. */
  readonly at: number;
  /** Safe state chosen at the fault: keep lowering (true) or release both motion outputs. */
  readonly lower: boolean;
}

export interface Machine {
  readonly state: ControllerState;
  /** Wall clock, for display. */
  readonly since: number;
  readonly reason: string;
  readonly inputs: BollardInputs;
  /** Travel deadline (lowering, raising, emergency-down) or end of the warning lead (monotonic, as all below). */
  readonly deadline: number | undefined;
  /** When all loops last became clear; undefined while one is occupied. */
  readonly loopsClearSince: number | undefined;
  /** A vehicle is on the loops and entered while the bollard was open (counts as a pass when it leaves). */
  readonly vehicleInPassage: boolean;
  readonly pendingPassages: number;
  /** A vehicle passed (or nothing is pending) since the bollard went down: it may rise when clear. */
  readonly passedSinceDown: boolean;
  /** Last open request, passing vehicle or arrival down: max hold-down counts from here. */
  readonly lastActivityAt: number;
  /** open-pulse: the open request output is pulsed until then. */
  readonly pulseUntil: number | undefined;
  /** `until` on the monotonic clock. */
  readonly hold: BollardHold | undefined;
  readonly fault: MachineFault | undefined;
}

export type MachineInput =
  | { readonly type: 'start'; readonly inputs: BollardInputs }
  | { readonly type: 'inputs'; readonly inputs: BollardInputs }
  | { readonly type: 'open'; readonly passageId: string }
  | { readonly type: 'tick' }
  /** `until` on the monotonic clock. */
  | { readonly type: 'hold'; readonly direction: 'down' | 'up'; readonly until: number }
  | { readonly type: 'release-hold' }
  | { readonly type: 'reset' }
  | { readonly type: 'io-error'; readonly detail: string }
  | { readonly type: 'stop' };

export interface StepResult {
  readonly machine: Machine;
  readonly events: readonly BollardEvent[];
  /** Set for 'open' inputs. */
  readonly open?: OpenResult;
}

const NO_INPUTS: BollardInputs = {
  positionDown: false,
  positionUp: false,
  loops: [false],
  emergency: false,
  controllerFault: false,
  manualOverride: false,
};

export function initialMachine(now: MachineTime, loopCount = 1): Machine {
  return {
    state: 'starting',
    since: now.wall,
    reason: 'starting',
    inputs: { ...NO_INPUTS, loops: Array.from({ length: loopCount }, () => false) },
    deadline: undefined,
    loopsClearSince: undefined,
    vehicleInPassage: false,
    pendingPassages: 0,
    passedSinceDown: false,
    lastActivityAt: now.mono,
    pulseUntil: undefined,
    hold: undefined,
    fault: undefined,
  };
}

const OPEN_STATES: ReadonlySet<ControllerState> = new Set([
  'lowering',
  'held-down',
  'warning',
  'raising',
  'emergency-down',
]);

const upConfirmed = (i: BollardInputs): boolean => i.positionUp && !i.positionDown;
const downConfirmed = (i: BollardInputs): boolean => i.positionDown && !i.positionUp;
const occupied = (i: BollardInputs): boolean => i.loops.some(Boolean);

/** Loops clear for at least the clearance time at `now` (monotonic). */
export function clearForRaise(m: Machine, now: number, cfg: MachineConfig): boolean {
  return !occupied(m.inputs) && m.loopsClearSince !== undefined && now - m.loopsClearSince >= cfg.clearanceMs;
}

type Draft = { -readonly [K in keyof Machine]: Machine[K] };

class Step {
  readonly d: Draft;
  readonly events: BollardEvent[] = [];
  open: OpenResult | undefined;
  /** Monotonic: every comparison with a deadline uses this. */
  readonly now: number;
  /** Wall clock: only event timestamps and `since`. */
  readonly wall: number;

  constructor(
    m: Machine,
    time: MachineTime,
    readonly cfg: MachineConfig,
  ) {
    this.d = { ...m };
    this.now = time.mono;
    this.wall = time.wall;
  }

  emit(e: Omit<BollardEvent, 'lane' | 'at' | 'position'>): void {
    this.events.push({ lane: this.cfg.lane, at: this.wall, position: positionOf(this.d.inputs), ...e });
  }

  go(to: ControllerState, reason: string, extra: { passageId?: string; deadline?: number } = {}): void {
    const from = this.d.state;
    if (from === to) return;
    this.d.state = to;
    this.d.since = this.wall;
    this.d.reason = reason;
    this.d.deadline = extra.deadline;
    const command = commandOf(to, this.cfg.mode);
    this.emit({
      type: 'transition',
      from,
      to,
      reason,
      ...(command ? { command } : {}),
      ...(extra.passageId ? { passageId: extra.passageId } : {}),
    });
  }

  fault(code: BollardFaultCode, detail: string): void {
    const i = this.d.inputs;
    const from = this.d.state;
    const lower = this.cfg.failMode === 'fail-open' || !upConfirmed(i);
    this.d.fault = { code, detail, at: this.wall, lower };
    this.d.state = 'fault';
    this.d.since = this.wall;
    this.d.reason = code;
    this.d.deadline = undefined;
    this.d.pulseUntil = undefined;
    this.d.pendingPassages = 0;
    this.emit({
      type: 'fault',
      from,
      to: 'fault',
      fault: code,
      reason: code,
      detail,
      // As outputsOf puts it on the pins: the emergency input lowers in a fault too.
      command: lower || i.emergency ? (this.cfg.mode === 'open-pulse' ? 'open' : 'lower') : 'stop',
    });
  }

  startLowering(reason: string, passageId?: string): void {
    if (this.cfg.mode === 'open-pulse') this.d.pulseUntil = this.now + this.cfg.pulseMs;
    this.go('lowering', reason, { deadline: this.now + this.cfg.travelMs, ...(passageId ? { passageId } : {}) });
  }

  /** Takes control from whatever the hardware shows: never moves up from an unknown position. */
  adopt(reason: string): void {
    const i = this.d.inputs;
    this.d.pendingPassages = 0;
    this.d.lastActivityAt = this.now;
    this.d.vehicleInPassage = false;
    if (i.manualOverride) return this.go('manual', 'manual-override');
    if (i.controllerFault) return this.fault('controller-fault', 'the bollard controller reports a fault');
    if (i.positionDown && i.positionUp) return this.fault('position-conflict', 'both limit switches are active');
    if (i.emergency) return this.enterEmergency();
    if (upConfirmed(i)) return this.go('idle-up', reason);
    if (downConfirmed(i)) {
      this.d.passedSinceDown = true;
      return this.go('held-down', reason);
    }
    this.startLowering(`${reason}-position-unknown`);
  }

  enterEmergency(): void {
    const d = this.d;
    if (this.cfg.mode === 'open-pulse') d.pulseUntil = this.now + this.cfg.pulseMs;
    if (downConfirmed(d.inputs)) return this.go('emergency-down', 'emergency');
    // A lowering already under way keeps its deadline: the emergency asks for the same movement.
    const deadline = d.state === 'lowering' && d.deadline !== undefined ? d.deadline : this.now + this.cfg.travelMs;
    this.go('emergency-down', 'emergency', { deadline });
  }

  trackLoops(): void {
    const i = this.d.inputs;
    const occ = occupied(i);
    if (occ) {
      this.d.loopsClearSince = undefined;
      if (OPEN_STATES.has(this.d.state)) this.d.vehicleInPassage = true;
      return;
    }
    if (this.d.loopsClearSince === undefined) {
      this.d.loopsClearSince = this.now;
      if (this.d.vehicleInPassage) {
        this.d.vehicleInPassage = false;
        const announced = this.d.pendingPassages > 0;
        if (announced) this.d.pendingPassages--;
        this.d.passedSinceDown = true;
        this.d.lastActivityAt = this.now;
        this.emit({ type: 'vehicle', reason: announced ? 'passed' : 'unannounced' });
      }
    }
  }

  holdActive(direction: 'down' | 'up'): boolean {
    const h = this.d.hold;
    return h !== undefined && h.direction === direction && this.now < h.until;
  }

  /** Applies the rules that follow from the current inputs and time until nothing changes. */
  settle(): void {
    for (let guard = 0; guard < 16; guard++) {
      const before = this.d.state;
      this.rules();
      if (this.d.state === before) return;
    }
  }

  rules(): void {
    const d = this.d;
    const i = d.inputs;
    const now = this.now;
    if (d.state === 'starting' || d.state === 'stopped') return;
    if (d.hold && now >= d.hold.until) d.hold = undefined;
    if (d.pulseUntil !== undefined && now >= d.pulseUntil) d.pulseUntil = undefined;
    // A vehicle already on the loops when the bollard opens passes through it.
    if (OPEN_STATES.has(d.state) && occupied(i)) d.vehicleInPassage = true;

    if (d.state === 'manual') {
      if (!i.manualOverride) {
        if (d.fault) this.go('fault', d.fault.code);
        else this.adopt('manual-override-ended');
      }
      return;
    }
    if (i.manualOverride) return this.go('manual', 'manual-override');

    if (d.state === 'fault') {
      if (d.fault?.code === 'controller-fault' && !i.controllerFault) {
        d.fault = undefined;
        this.emit({ type: 'fault-cleared', reason: 'controller-fault-cleared' });
        this.adopt('fault-cleared');
      }
      return;
    }
    if (i.controllerFault) return this.fault('controller-fault', 'the bollard controller reports a fault');
    if (i.positionDown && i.positionUp) return this.fault('position-conflict', 'both limit switches are active');

    if (i.emergency && d.state !== 'emergency-down') return this.enterEmergency();

    const mode = this.cfg.mode;
    switch (d.state) {
      case 'idle-up':
        if (!i.positionUp) {
          // An open-pulse controller may be opened by other means (intercom, control room).
          if (mode === 'open-pulse')
            return this.go('lowering', 'controller-lowering', { deadline: now + this.cfg.travelMs });
          return this.fault(
            'position-lost',
            'the up switch opened without a command (bollard sinking or switch failure)',
          );
        }
        if (this.holdActive('down')) return this.startLowering('hold-down');
        return;
      case 'lowering':
        if (downConfirmed(i)) {
          d.lastActivityAt = now;
          return this.go('held-down', 'down-confirmed');
        }
        if (d.deadline !== undefined && now >= d.deadline)
          return this.fault('lower-timeout', `no down confirmation within ${this.cfg.travelMs} ms`);
        return;
      case 'emergency-down':
        if (!i.emergency) {
          d.pendingPassages = 0;
          d.passedSinceDown = true;
          d.lastActivityAt = now;
          if (downConfirmed(i)) return this.go('held-down', 'emergency-released');
          return this.go('lowering', 'emergency-released', { deadline: d.deadline ?? now + this.cfg.travelMs });
        }
        if (downConfirmed(i)) d.deadline = undefined;
        else if (d.deadline === undefined)
          // Down was confirmed (no deadline left): losing it now is not a movement we asked for.
          return this.fault('position-lost', 'the down switch opened during the emergency hold');
        else if (now >= d.deadline)
          return this.fault('lower-timeout', `emergency: no down confirmation within ${this.cfg.travelMs} ms`);
        return;
      case 'held-down': {
        if (!i.positionDown) {
          if (mode === 'open-pulse')
            return this.go('raising', 'controller-rising', { deadline: now + this.cfg.travelMs });
          return this.fault('position-lost', 'the down switch opened without a command');
        }
        if (mode === 'open-pulse') return;
        if (this.holdActive('down')) return;
        const maxHoldReached = now - d.lastActivityAt >= this.cfg.maxHoldDownMs;
        const done = d.pendingPassages === 0 && d.passedSinceDown;
        const heldUp = this.holdActive('up');
        if (!(done || maxHoldReached || heldUp)) return;
        if (!clearForRaise(d, now, this.cfg)) return;
        const reason = heldUp ? 'hold-up' : done ? 'vehicle-passed' : 'max-hold-down';
        d.pendingPassages = 0;
        return this.go('warning', reason, { deadline: now + this.cfg.warningMs });
      }
      case 'warning':
        if (occupied(i)) return this.go('held-down', 'vehicle-on-loop');
        if (!i.positionDown) return this.fault('position-lost', 'the down switch opened without a command');
        if (d.deadline !== undefined && now >= d.deadline) {
          if (!clearForRaise(d, now, this.cfg)) return this.go('held-down', 'loop-not-clear');
          return this.go('raising', d.reason, { deadline: now + this.cfg.travelMs });
        }
        return;
      case 'raising':
        if (mode === 'open-pulse') {
          if (upConfirmed(i)) return this.go('idle-up', 'up-confirmed');
          if (downConfirmed(i)) return this.go('held-down', 'controller-lowered');
          if (occupied(i)) return this.startLowering('vehicle-on-loop');
        } else {
          if (occupied(i)) return this.startLowering('vehicle-on-loop');
          if (upConfirmed(i)) return this.go('idle-up', 'up-confirmed');
        }
        if (d.deadline !== undefined && now >= d.deadline)
          return this.fault('raise-timeout', `no up confirmation within ${this.cfg.travelMs} ms`);
        return;
      default:
        return;
    }
  }

  requestOpen(passageId: string): void {
    const d = this.d;
    const refuse = (reason: string): void => {
      this.open = { accepted: false, reason, state: d.state };
      this.emit({ type: 'refused', reason, passageId });
    };
    const accept = (reason: string): void => {
      this.open = { accepted: true, reason, state: d.state };
    };
    switch (d.state) {
      case 'starting':
      case 'stopped':
        return refuse('not-started');
      case 'manual':
        return refuse('manual');
      case 'fault':
        return refuse('fault');
      default:
    }
    if (this.holdActive('up')) return refuse('held-up');
    d.lastActivityAt = this.now;
    switch (d.state) {
      case 'idle-up':
        d.pendingPassages = 1;
        d.passedSinceDown = false;
        this.startLowering('open-request', passageId);
        return accept('lowering');
      case 'lowering':
        d.pendingPassages++;
        return accept('lowering');
      case 'held-down':
        d.pendingPassages++;
        if (this.cfg.mode === 'open-pulse') d.pulseUntil = this.now + this.cfg.pulseMs;
        return accept('already-down');
      case 'warning':
        d.pendingPassages++;
        this.go('held-down', 'open-request', { passageId });
        return accept('rise-cancelled');
      case 'raising':
        d.pendingPassages++;
        this.startLowering('open-request', passageId);
        return accept('reversed');
      case 'emergency-down':
        d.pendingPassages++;
        return accept('emergency-down');
      default:
        return refuse(d.state);
    }
  }

  result(): StepResult {
    return { machine: this.d, events: this.events, ...(this.open ? { open: this.open } : {}) };
  }
}

function commandOf(state: ControllerState, mode: MachineConfig['mode']): BollardCommand | undefined {
  switch (state) {
    case 'lowering':
    case 'emergency-down':
      return mode === 'open-pulse' ? 'open' : 'lower';
    case 'raising':
      return mode === 'open-pulse' ? undefined : 'raise';
    default:
      return undefined;
  }
}

export function step(m: Machine, input: MachineInput, now: MachineTime, cfg: MachineConfig): StepResult {
  const s = new Step(m, now, cfg);
  switch (input.type) {
    case 'start':
      s.d.inputs = input.inputs;
      // How long the loops have been clear before we started is unknown: count from now.
      s.d.loopsClearSince = occupied(input.inputs) ? undefined : s.now;
      s.adopt('start');
      break;
    case 'inputs':
      s.d.inputs = input.inputs;
      s.trackLoops();
      break;
    case 'open':
      s.settle();
      s.requestOpen(input.passageId);
      break;
    case 'tick':
      break;
    case 'hold':
      if (s.d.state === 'starting' || s.d.state === 'stopped') break;
      s.d.hold = { direction: input.direction, until: input.until };
      if (input.direction === 'down') {
        s.d.pendingPassages = 0;
        s.d.passedSinceDown = true;
        if (s.d.state === 'warning' || s.d.state === 'raising') s.startLowering('hold-down');
      }
      break;
    case 'release-hold':
      s.d.hold = undefined;
      break;
    case 'reset':
      if (s.d.state === 'fault' && s.d.fault) {
        const code = s.d.fault.code;
        s.d.fault = undefined;
        s.emit({ type: 'fault-cleared', reason: 'reset', detail: `fault ${code} reset by a technician` });
        s.adopt('fault-reset');
      }
      break;
    case 'io-error':
      if (s.d.state !== 'fault' || s.d.fault?.code !== 'io-error') s.fault('io-error', input.detail);
      break;
    case 'stop':
      s.go('stopped', 'stopped');
      break;
  }
  s.settle();
  return s.result();
}

/** The output levels for a machine state at `now` (monotonic); `heartbeat` is the controller's business. */
export function outputsOf(m: Machine, now: number, cfg: MachineConfig): BollardOutputs {
  const i = m.inputs;
  let lower = false;
  let raise = false;
  let warning = false;
  const pulse = cfg.mode === 'open-pulse';
  switch (m.state) {
    case 'idle-up':
      raise = true;
      break;
    case 'lowering':
    case 'held-down':
    case 'emergency-down':
      lower = true;
      break;
    case 'warning':
      lower = true;
      warning = true;
      break;
    case 'raising':
      if (pulse) break;
      raise = true;
      warning = true;
      break;
    case 'manual':
      raise = upConfirmed(i);
      lower = !raise;
      break;
    case 'fault':
      lower = (m.fault?.lower ?? true) || !upConfirmed(i) || i.emergency;
      break;
    default:
      // starting, stopped: the controller does not write in these states
      break;
  }
  const green = (m.state === 'held-down' || m.state === 'emergency-down') && downConfirmed(i);
  if (pulse) {
    // The controller runs its own cycle; the gateway can only hold its open input. It does so
    // while a vehicle is on the loops or within the clearance time, in an emergency, on a
    // technician's hold and in a fail-open fault, which most controllers treat as "stay open".
    const holdOpen =
      m.state === 'fault'
        ? lower
        : m.state === 'manual'
          ? false
          : (m.pulseUntil !== undefined && now < m.pulseUntil) ||
            m.state === 'emergency-down' ||
            (OPEN_STATES.has(m.state) &&
              (occupied(i) ||
                (m.loopsClearSince !== undefined && now - m.loopsClearSince < cfg.clearanceMs) ||
                (m.hold?.direction === 'down' && now < m.hold.until)));
    return {
      lower: false,
      raise: false,
      openRequest: holdOpen,
      lightRed: !green,
      lightGreen: green,
      warning: false,
      heartbeat: false,
    };
  }
  return { lower, raise, openRequest: false, lightRed: !green, lightGreen: green, warning, heartbeat: false };
}

/** The next monotonic time the machine must be ticked, if any (strictly after `now`, monotonic). */
export function nextDeadline(m: Machine, now: number, cfg: MachineConfig): number | undefined {
  const at: number[] = [];
  if (m.deadline !== undefined) at.push(m.deadline);
  if (m.pulseUntil !== undefined) at.push(m.pulseUntil);
  if (m.hold) at.push(m.hold.until);
  if (m.loopsClearSince !== undefined) at.push(m.loopsClearSince + cfg.clearanceMs);
  if (m.state === 'held-down') at.push(m.lastActivityAt + cfg.maxHoldDownMs);
  let best: number | undefined;
  for (const t of at) if (t > now && (best === undefined || t < best)) best = t;
  return best;
}
