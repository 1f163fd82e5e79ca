import type { BollardConfig } from '../config/schema.js';
import type { Clock, TimerHandle } from '../shared/clock.js';
import { ALL_OFF, type BollardDriver, type BollardInputs, type BollardOutputs } from './types.js';

/**
 * A retractable bollard with its controller, its limit switches and its safety loops, and the
 * traffic in front of it: a product feature (the demo and technicians' training run on it) and
 * what the controller's tests run against.
 *
 * The road is one dimension in metres: the bollard at 0, traffic driving towards +. A vehicle
 * waits with its front `stopLineM` before the bollard, drives off when the bollard is fully
 * down (queued vehicles follow `followGapMs` apart), and occupies a loop while any part of it
 * is over the loop. A waiting vehicle turns away after `patienceMs`. A reckless vehicle drives
 * on without waiting: it is how a vehicle "arrives during a rise".
 *
 * Everything runs on the injected clock from scheduled events (no polling), so a ManualClock
 * runs hours of traffic in milliseconds. Physics and traffic run on its monotonic reading (a
 * bollard does not care what NTP does to the wall clock); only reported times are wall times. The simulator keeps score of what a real site would
 * regret: `impacts` (a vehicle over a bollard that is not fully down) and `unsafeRaiseRequests`
 * (the gateway asked for upward motion while a vehicle was on a loop or over the bollard).
 */

export type SimFault =
  | { readonly kind: 'stuck' }
  | { readonly kind: 'slow'; readonly factor: number }
  | { readonly kind: 'switch'; readonly which: 'down' | 'up'; readonly failure: 'dead' | 'stuck-on' }
  | { readonly kind: 'controller-fault' };

export interface VehicleSpec {
  readonly lengthM?: number;
  readonly speedKmh?: number;
  /** Drives on without waiting for the bollard to be down. */
  readonly reckless?: boolean;
  readonly patienceMs?: number;
  /** Free text shown in the demo (e.g. the plate). */
  readonly label?: string;
}

export type VehicleState = 'waiting' | 'driving' | 'passed' | 'turned-away';

export interface SimVehicle {
  readonly id: number;
  readonly label?: string;
  readonly lengthM: number;
  readonly speedKmh: number;
  readonly reckless: boolean;
  /** Wall clock, as it reads now. */
  readonly arrivedAt: number;
  readonly state: VehicleState;
  /** Wall clock, as it reads now. */
  readonly startedAt?: number;
  readonly impact: boolean;
}

export interface SimVehicleEvent {
  readonly type: 'arrived' | 'drives' | 'passed' | 'turned-away' | 'impact';
  /** Wall clock. */
  readonly at: number;
  readonly vehicle: SimVehicle;
}

export interface SimStats {
  readonly arrived: number;
  readonly passed: number;
  readonly turnedAway: number;
  readonly impacts: number;
  readonly unsafeRaiseRequests: number;
  readonly conflictingCommands: number;
}

export interface SimSnapshot {
  /** 0 = fully down (retracted), 100 = fully up. */
  readonly heightPct: number;
  readonly motion: 'up' | 'down' | 'still';
  readonly inputs: BollardInputs;
  readonly outputs: BollardOutputs;
  readonly vehicles: readonly SimVehicle[];
  readonly faults: readonly SimFault[];
  readonly stats: SimStats;
}

export interface SimulatorOptions {
  readonly clock: Clock;
  readonly mode: 'lower-raise' | 'open-pulse';
  /** Physical time for a full movement. */
  readonly travelMs: number;
  readonly loopsM: readonly (readonly [number, number])[];
  readonly stopLineM: number;
  readonly patienceMs: number;
  readonly followGapMs: number;
  /** What the controller does with no command: its wiring for the site's fail mode. */
  readonly released: 'hold' | 'up' | 'down';
  readonly interlock: boolean;
  readonly autoCloseMs: number;
  readonly vehicleLengthM: number;
  readonly speedKmh: number;
  /** Height (0–1) at start; default fully up. */
  readonly initialHeight?: number;
}

export function simulatorOptionsFrom(config: BollardConfig, clock: Clock): SimulatorOptions {
  const s = config.simulator;
  return {
    clock,
    mode: config.mode,
    travelMs: s.travelMs ?? Math.round(config.timing.travelMs * 0.75),
    loopsM: s.loopsM,
    stopLineM: s.stopLineM,
    patienceMs: s.patienceMs,
    followGapMs: s.followGapMs,
    released: s.released === 'auto' ? (config.failMode === 'fail-open' ? 'down' : 'up') : s.released,
    interlock: s.interlock,
    autoCloseMs: s.autoCloseMs,
    vehicleLengthM: s.vehicleLengthM,
    speedKmh: s.speedKmh,
  };
}

/** Times in here are monotonic. */
interface Vehicle {
  id: number;
  label: string | undefined;
  lengthM: number;
  speedMs: number;
  reckless: boolean;
  patienceMs: number;
  arrivedAt: number;
  state: VehicleState;
  startedAt: number | undefined;
  impact: boolean;
}

/** Limit switches close within this fraction of the travel from the end position. */
const SWITCH_FRACTION = 0.02;
/** The first whole millisecond strictly after t: by then a boundary at t has been crossed. */
const after = (t: number): number => Math.floor(t) + 1;

export class BollardSimulator implements BollardDriver {
  readonly kind = 'simulator' as const;
  readonly loopCount: number;
  readonly #o: SimulatorOptions;
  #h: number;
  #hAt: number;
  #dir: -1 | 0 | 1 = 0;
  #outputs: BollardOutputs = ALL_OFF;
  #emergency = false;
  #manualOverride = false;
  #manualCommand: 'up' | 'down' | 'stop' = 'stop';
  #forced: boolean[];
  #faults: SimFault[] = [];
  #vehicles: Vehicle[] = [];
  #recent: Vehicle[] = [];
  #nextId = 1;
  #lastStartAt = -Infinity;
  /** open-pulse controller: whether its cycle is open, and since when its loops are clear. */
  #pulseOpen = false;
  #clearSince: number;
  #unsafe = false;
  #conflict = false;
  #stats = { arrived: 0, passed: 0, turnedAway: 0, impacts: 0, unsafeRaiseRequests: 0, conflictingCommands: 0 };
  #inputs: BollardInputs;
  #timer: TimerHandle | undefined;
  #timerAt: number | undefined;
  #running = false;
  #updating = false;
  readonly #listeners = new Set<(inputs: BollardInputs) => void>();
  readonly #vehicleListeners = new Set<(event: SimVehicleEvent) => void>();

  constructor(options: SimulatorOptions) {
    this.#o = options;
    this.loopCount = options.loopsM.length;
    this.#forced = options.loopsM.map(() => false);
    this.#h = options.initialHeight ?? 1;
    this.#hAt = options.clock.monotonic();
    this.#clearSince = options.clock.monotonic();
    this.#inputs = this.#computeInputs(options.clock.monotonic());
  }

  async start(): Promise<void> {
    this.#running = true;
    this.#update();
  }

  async stop(): Promise<void> {
    this.#running = false;
    this.#timer?.cancel();
    this.#timer = undefined;
    this.#timerAt = undefined;
  }

  write(outputs: BollardOutputs): void {
    const now = this.#o.clock.monotonic();
    this.#rebase(now);
    const prev = this.#outputs;
    this.#outputs = { ...outputs };
    if (this.#o.mode === 'open-pulse' && outputs.openRequest && !prev.openRequest) this.#pulseOpen = true;
    if (this.#updating) return;
    this.#settleMotion(now);
    this.#score(now);
    this.#schedule(now);
  }

  readOutputs(): BollardOutputs {
    return this.#outputs;
  }

  read(): BollardInputs {
    return this.#inputs;
  }

  onInputs(listener: (inputs: BollardInputs) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  onVehicle(listener: (event: SimVehicleEvent) => void): () => void {
    this.#vehicleListeners.add(listener);
    return () => this.#vehicleListeners.delete(listener);
  }

  // ---- traffic and the world around the bollard ----

  /** A vehicle arrives in front of the bollard (the simulated camera saw it). */
  vehicleArrives(spec: VehicleSpec = {}): SimVehicle {
    const o = this.#o;
    const v: Vehicle = {
      id: this.#nextId++,
      label: spec.label,
      lengthM: spec.lengthM ?? o.vehicleLengthM,
      speedMs: (spec.speedKmh ?? o.speedKmh) / 3.6,
      reckless: spec.reckless ?? false,
      patienceMs: spec.patienceMs ?? o.patienceMs,
      arrivedAt: o.clock.monotonic(),
      state: 'waiting',
      startedAt: undefined,
      impact: false,
    };
    if (!(v.lengthM > 0) || !(v.speedMs > 0)) throw new RangeError('a vehicle needs a positive length and speed');
    this.#vehicles.push(v);
    this.#stats.arrived++;
    this.#vehicleEvent('arrived', v);
    this.#update();
    return this.#view(v);
  }

  setEmergency(active: boolean): void {
    this.#emergency = active;
    this.#update();
  }

  /** The controller's local/manual switch; `manualCommand` then moves it. */
  setManualOverride(active: boolean): void {
    this.#manualOverride = active;
    if (!active) this.#manualCommand = 'stop';
    this.#update();
  }

  manualCommand(command: 'up' | 'down' | 'stop'): void {
    this.#manualCommand = command;
    this.#update();
  }

  /** Something other than a vehicle occupies a loop (a cyclist, a loop detector stuck on). */
  setLoopForced(index: number, occupied: boolean): void {
    if (index < 0 || index >= this.loopCount) throw new RangeError(`no loop ${index} (loops: ${this.loopCount})`);
    this.#forced[index] = occupied;
    this.#update();
  }

  injectFault(fault: SimFault): void {
    this.#rebase(this.#o.clock.monotonic());
    this.#faults = this.#faults.filter((f) => !sameFault(f, fault));
    this.#faults.push(fault);
    this.#update();
  }

  clearFaults(kind?: SimFault['kind']): void {
    this.#rebase(this.#o.clock.monotonic());
    this.#faults = kind ? this.#faults.filter((f) => f.kind !== kind) : [];
    this.#update();
  }

  get stats(): SimStats {
    return { ...this.#stats };
  }

  /** Height 0 (down) to 1 (up) now. */
  height(): number {
    return this.#heightAt(this.#o.clock.monotonic());
  }

  snapshot(): SimSnapshot {
    const now = this.#o.clock.monotonic();
    return {
      heightPct: Math.round(this.#heightAt(now) * 1000) / 10,
      motion: this.#effectiveRate() === 0 || this.#dir === 0 ? 'still' : this.#dir > 0 ? 'up' : 'down',
      inputs: this.#inputs,
      outputs: this.#outputs,
      vehicles: [...this.#recent, ...this.#vehicles].map((v) => this.#view(v)),
      faults: [...this.#faults],
      stats: this.stats,
    };
  }

  // ---- physics ----

  #effectiveRate(): number {
    if (this.#faults.some((f) => f.kind === 'stuck')) return 0;
    const slow = this.#faults.find((f): f is Extract<SimFault, { kind: 'slow' }> => f.kind === 'slow');
    return 1 / (this.#o.travelMs * (slow ? Math.max(slow.factor, 0.01) : 1));
  }

  #heightAt(t: number): number {
    const h = this.#h + this.#dir * this.#effectiveRate() * (t - this.#hAt);
    return h < 0 ? 0 : h > 1 ? 1 : h;
  }

  #rebase(now: number): void {
    this.#h = this.#heightAt(now);
    this.#hAt = now;
  }

  #frontAt(v: Vehicle, t: number): number {
    if (v.startedAt === undefined) return -this.#o.stopLineM - this.#queueOffset(v);
    return -this.#o.stopLineM + v.speedMs * ((t - v.startedAt) / 1000);
  }

  /** Waiting vehicles queue behind each other, a metre apart. */
  #queueOffset(v: Vehicle): number {
    let offset = 0;
    for (const other of this.#vehicles) {
      if (other === v) break;
      if (other.state === 'waiting') offset += other.lengthM + 1;
    }
    return offset;
  }

  #spans(v: Vehicle, t: number, from: number, to: number): boolean {
    const front = this.#frontAt(v, t);
    return front > from && front - v.lengthM < to;
  }

  #loopsOccupied(t: number): boolean[] {
    return this.#o.loopsM.map(
      ([from, to], i) =>
        this.#forced[i] === true ||
        this.#vehicles.some((v) => (v.state === 'waiting' || v.state === 'driving') && this.#spans(v, t, from, to)),
    );
  }

  #overBollard(t: number): Vehicle[] {
    return this.#vehicles.filter((v) => v.state === 'driving' && this.#spans(v, t, 0, 0));
  }

  #computeInputs(t: number): BollardInputs {
    const h = this.#heightAt(t);
    const sw = (which: 'down' | 'up', physical: boolean): boolean => {
      const f = this.#faults.find(
        (x): x is Extract<SimFault, { kind: 'switch' }> => x.kind === 'switch' && x.which === which,
      );
      return f ? f.failure === 'stuck-on' : physical;
    };
    return {
      positionDown: sw('down', h <= SWITCH_FRACTION),
      positionUp: sw('up', h >= 1 - SWITCH_FRACTION),
      loops: this.#loopsOccupied(t),
      emergency: this.#emergency,
      controllerFault: this.#faults.some((f) => f.kind === 'controller-fault'),
      manualOverride: this.#manualOverride,
    };
  }

  /** What the bollard controller makes of its inputs and our outputs: the direction of travel. */
  #desiredDirection(t: number): -1 | 0 | 1 {
    const o = this.#o;
    if (this.#faults.some((f) => f.kind === 'controller-fault')) return 0;
    if (this.#manualOverride) return this.#manualCommand === 'up' ? 1 : this.#manualCommand === 'down' ? -1 : 0;
    const blocked = (): boolean =>
      o.interlock && (this.#loopsOccupied(t).some(Boolean) || this.#overBollard(t).length > 0);
    // Blocked while moving: back down to the bottom (a reversal), blocked at rest: stay.
    const up = (): -1 | 0 | 1 => (blocked() ? (this.#dir !== 0 ? -1 : 0) : 1);
    const out = this.#outputs;
    if (o.mode === 'open-pulse') {
      if (out.openRequest) this.#pulseOpen = true;
      if (this.#emergency) this.#pulseOpen = true;
      if (this.#pulseOpen) {
        const occupied = this.#loopsOccupied(t).some(Boolean) || this.#overBollard(t).length > 0;
        const down = this.#heightAt(t) <= 0;
        if (!out.openRequest && !this.#emergency && down && !occupied && t - this.#clearSince >= o.autoCloseMs)
          this.#pulseOpen = false;
        else return -1;
      }
      return up();
    }
    if (this.#emergency && !out.raise) return -1;
    if (out.lower && out.raise) return 0;
    if (out.lower) return -1;
    if (out.raise) return up();
    switch (o.released) {
      case 'down':
        return -1;
      case 'up':
        return up();
      default:
        return 0;
    }
  }

  #settleMotion(now: number): void {
    this.#rebase(now);
    const dir = this.#desiredDirection(now);
    const h = this.#h;
    this.#dir = (dir < 0 && h <= 0) || (dir > 0 && h >= 1) ? 0 : dir;
  }

  /** Keeps score: impacts, and the gateway asking for a rise onto a vehicle. */
  #score(now: number): void {
    const out = this.#outputs;
    const conflict = out.lower && out.raise;
    if (conflict && !this.#conflict) this.#stats.conflictingCommands++;
    this.#conflict = conflict;
    const h = this.#heightAt(now);
    const over = this.#overBollard(now);
    const vehiclePresent = this.#inputs.loops.some(Boolean) || over.length > 0;
    // Upward motion asked for while not (yet) up as the up switch tells it, with a vehicle
    // present. A controller in manual operation ignores the request, so it does not count.
    const unsafe =
      this.#o.mode === 'lower-raise' &&
      !this.#manualOverride &&
      out.raise &&
      !out.lower &&
      h < 1 - SWITCH_FRACTION &&
      vehiclePresent;
    if (unsafe && !this.#unsafe) this.#stats.unsafeRaiseRequests++;
    this.#unsafe = unsafe;
    for (const v of over) {
      if (!v.impact && h > SWITCH_FRACTION) {
        v.impact = true;
        this.#stats.impacts++;
        this.#vehicleEvent('impact', v);
      }
    }
  }

  #update(): void {
    if (this.#updating) return;
    this.#updating = true;
    const now = this.#o.clock.monotonic();
    try {
      this.#rebase(now);
      this.#traffic(now);
      this.#settleMotion(now);
      const inputs = this.#computeInputs(now);
      if (!inputs.loops.some(Boolean)) {
        if (this.#inputs.loops.some(Boolean)) this.#clearSince = now;
      }
      const changed = !sameInputs(inputs, this.#inputs);
      this.#inputs = inputs;
      if (changed && this.#running) {
        for (const l of [...this.#listeners]) l(inputs);
      }
    } finally {
      this.#updating = false;
    }
    // Outputs may have changed in a listener: move accordingly, then keep score.
    this.#settleMotion(now);
    this.#score(now);
    this.#schedule(now);
  }

  #traffic(now: number): void {
    const o = this.#o;
    const h = this.#heightAt(now);
    for (const v of this.#vehicles) {
      if (v.state === 'driving') {
        const done =
          (v.startedAt ?? now) +
          ((Math.max(...o.loopsM.map(([, to]) => to), 0) + v.lengthM + o.stopLineM) / v.speedMs) * 1000;
        if (now >= after(done)) {
          v.state = 'passed';
          this.#stats.passed++;
          this.#vehicleEvent('passed', v);
        }
      }
    }
    let front = true;
    for (const v of this.#vehicles) {
      if (v.state !== 'waiting') continue;
      if (now - v.arrivedAt >= v.patienceMs && !v.reckless) {
        v.state = 'turned-away';
        this.#stats.turnedAway++;
        this.#vehicleEvent('turned-away', v);
        continue;
      }
      const gapOk = now - this.#lastStartAt >= o.followGapMs;
      const bollardDown = h <= 0 && this.#dir <= 0;
      if (front && gapOk && (v.reckless || bollardDown)) {
        v.state = 'driving';
        v.startedAt = now;
        this.#lastStartAt = now;
        this.#vehicleEvent('drives', v);
      }
      front = false;
    }
    const gone = this.#vehicles.filter((v) => v.state === 'passed' || v.state === 'turned-away');
    if (gone.length > 0) {
      this.#vehicles = this.#vehicles.filter((v) => v.state === 'waiting' || v.state === 'driving');
      this.#recent = [...this.#recent, ...gone].slice(-20);
    }
  }

  /** One timer for the next thing that will change: a switch, a loop edge, a vehicle, a patience limit. */
  #schedule(now: number): void {
    if (!this.#running) return;
    const o = this.#o;
    const times: number[] = [];
    const rate = this.#effectiveRate();
    if (this.#dir !== 0 && rate > 0) {
      const h = this.#h;
      for (const target of [0, SWITCH_FRACTION, 1 - SWITCH_FRACTION, 1]) {
        const dt = (target - h) / (this.#dir * rate);
        if (dt >= 0) times.push(now + dt);
      }
    }
    for (const v of this.#vehicles) {
      if (v.state === 'driving' && v.startedAt !== undefined) {
        const at = (x: number): number => v.startedAt! + ((x + o.stopLineM) / v.speedMs) * 1000;
        for (const [from, to] of o.loopsM) times.push(at(from), at(to + v.lengthM));
        times.push(at(0), at(v.lengthM), at(Math.max(...o.loopsM.map(([, to]) => to), 0) + v.lengthM));
      } else if (v.state === 'waiting') {
        times.push(v.arrivedAt + v.patienceMs);
        if (this.#lastStartAt > -Infinity) times.push(this.#lastStartAt + o.followGapMs);
      }
    }
    if (o.mode === 'open-pulse' && this.#pulseOpen) times.push(this.#clearSince + o.autoCloseMs);
    let next: number | undefined;
    for (const t of times) {
      if (t < now) continue;
      const a = after(t);
      if (next === undefined || a < next) next = a;
    }
    if (next === this.#timerAt) return;
    this.#timer?.cancel();
    this.#timerAt = next;
    this.#timer =
      next === undefined
        ? undefined
        : o.clock.setTimer(next - now, () => {
            this.#timer = undefined;
            this.#timerAt = undefined;
            this.#update();
          });
  }

  #vehicleEvent(type: SimVehicleEvent['type'], v: Vehicle): void {
    const event: SimVehicleEvent = { type, at: this.#o.clock.now(), vehicle: this.#view(v) };
    for (const l of [...this.#vehicleListeners]) l(event);
  }

  /** A vehicle as reported: its monotonic times as the wall clock reads now. */
  #view(v: Vehicle): SimVehicle {
    const { clock } = this.#o;
    const toWall = (t: number): number => Math.round(clock.now() + (t - clock.monotonic()));
    return {
      id: v.id,
      ...(v.label !== undefined ? { label: v.label } : {}),
      lengthM: v.lengthM,
      speedKmh: Math.round(v.speedMs * 3.6 * 10) / 10,
      reckless: v.reckless,
      arrivedAt: toWall(v.arrivedAt),
      state: v.state,
      ...(v.startedAt !== undefined ? { startedAt: toWall(v.startedAt) } : {}),
      impact: v.impact,
    };
  }
}

function sameFault(a: SimFault, b: SimFault): boolean {
  if (a.kind !== b.kind) return false;
  if (a.kind === 'switch' && b.kind === 'switch') return a.which === b.which;
  return true;
}

function sameInputs(a: BollardInputs, b: BollardInputs): boolean {
  return (
    a.positionDown === b.positionDown &&
    a.positionUp === b.positionUp &&
    a.emergency === b.emergency &&
    a.controllerFault === b.controllerFault &&
    a.manualOverride === b.manualOverride &&
    a.loops.length === b.loops.length &&
    a.loops.every((x, i) => x === b.loops[i])
  );
}
