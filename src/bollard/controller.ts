import type { Registry } from 'prom-client';
import type { BollardConfig } from '../config/schema.js';
import type { Clock, TimerHandle } from '../shared/clock.js';
import type { Lifecycle } from '../shared/lifecycle.js';
import type { Logger } from '../shared/log.js';
import { counter, gauge } from '../shared/metrics.js';
import {
  initialMachine,
  nextDeadline,
  outputsOf,
  step,
  type Machine,
  type MachineConfig,
  type MachineInput,
  type MachineTime,
} from './machine.js';
import {
  positionOf,
  type BollardDriver,
  type BollardEvent,
  type BollardOutputs,
  type BollardStatus,
  type ControllerState,
  type OpenResult,
} from './types.js';

export interface BollardControllerDeps {
  readonly laneId: string;
  readonly config: BollardConfig;
  readonly driver: BollardDriver;
  readonly clock: Clock;
  readonly log: Logger;
  readonly registry: Registry;
  /** Every transition, fault, refusal and passing vehicle, after the GPIO write it caused. */
  readonly onEvent: (event: BollardEvent) => void;
}

export interface HoldResult {
  readonly accepted: boolean;
  readonly reason: string;
  /** Wall clock, for display; the hold itself runs on the monotonic clock. */
  readonly until?: number;
}

/** Outcome of a supervised down/up cycle (`zonegate bollard test`). */
export interface BollardTestReport {
  readonly ok: boolean;
  /** 'completed', or why it stopped: 'loop-occupied', 'vehicle-on-loop', 'fault', 'timeout', 'interrupted', 'state …'. */
  readonly reason: string;
  readonly downMs?: number;
  readonly upMs?: number;
  readonly fault?: string;
}

export interface ParkResult {
  readonly reached: boolean;
  readonly target: 'down' | 'up';
  readonly state: ControllerState;
}

const CONTROL_STATES: ReadonlySet<ControllerState> = new Set(['starting', 'stopped']);

/**
 * One lane's bollard controller: feeds the pure state machine with debounced inputs, open
 * requests and its own deadlines, and writes the resulting outputs to the driver synchronously.
 * Events go out after the write they describe, so the journal never claims a command that
 * was not on the pins.
 */
export class BollardController implements Lifecycle {
  readonly name: string;
  readonly #deps: BollardControllerDeps;
  readonly #cfg: MachineConfig;
  #m: Machine;
  #timer: TimerHandle | undefined;
  #timerAt: number | undefined;
  #heartbeatTimer: TimerHandle | undefined;
  #heartbeat = false;
  #written: BollardOutputs | undefined;
  #unsubscribe: (() => void) | undefined;
  #queue: MachineInput[] = [];
  #busy = false;
  #started = false;
  readonly #watchers = new Set<(event: BollardEvent | undefined) => void>();
  readonly #metrics;

  constructor(deps: BollardControllerDeps) {
    this.#deps = deps;
    this.name = `bollard:${deps.laneId}`;
    const t = deps.config.timing;
    this.#cfg = {
      lane: deps.laneId,
      mode: deps.config.mode,
      failMode: deps.config.failMode,
      travelMs: t.travelMs,
      clearanceMs: t.clearanceMs,
      maxHoldDownMs: t.maxHoldDownMs,
      warningMs: t.warningMs,
      pulseMs: t.pulseMs,
    };
    this.#m = initialMachine(this.#time(), deps.driver.loopCount);
    const r = deps.registry;
    this.#metrics = {
      transitions: counter(
        r,
        'zonegate_bollard_transitions_total',
        'Bollard controller transitions, by lane and state entered',
        ['lane', 'to'],
      ),
      faults: counter(r, 'zonegate_bollard_faults_total', 'Bollard faults, by lane and fault code', ['lane', 'fault']),
      refused: counter(r, 'zonegate_bollard_refused_total', 'Open requests refused, by lane and reason', [
        'lane',
        'reason',
      ]),
      vehicles: counter(r, 'zonegate_bollard_vehicles_total', 'Vehicles that passed the loops, by lane and kind', [
        'lane',
        'kind',
      ]),
      ioErrors: counter(r, 'zonegate_bollard_io_errors_total', 'Failed output writes, by lane', ['lane']),
      state: gauge(r, 'zonegate_bollard_state', 'Current controller state (1 = in this state), by lane', [
        'lane',
        'state',
      ]),
    };
  }

  get state(): ControllerState {
    return this.#m.state;
  }

  /** Both clock readings now: the machine measures every interval on the monotonic one. */
  #time(): MachineTime {
    const { clock } = this.#deps;
    return { mono: clock.monotonic(), wall: clock.now() };
  }

  /** The state now; a call, so that TypeScript does not carry a narrowed state across awaits. */
  #now(): ControllerState {
    return this.#m.state;
  }

  get config(): MachineConfig {
    return this.#cfg;
  }

  async start(): Promise<void> {
    if (this.#started) return;
    const { driver, clock } = this.#deps;
    await driver.start();
    try {
      // Adopt what the pins show before the first write, so a restart keeps a held-down bollard down.
      this.#written = driver.readOutputs();
      this.#heartbeat = this.#written.heartbeat;
      this.#started = true;
      this.#unsubscribe = driver.onInputs((inputs) => this.#dispatch({ type: 'inputs', inputs }));
      this.#dispatch({ type: 'start', inputs: driver.read() });
      this.#startHeartbeat();
      this.#deps.log.info(
        { lane: this.#deps.laneId, state: this.#m.state, driver: driver.kind, at: clock.now() },
        'bollard controller started',
      );
    } catch (err) {
      this.#started = false;
      this.#unsubscribe?.();
      this.#unsubscribe = undefined;
      await driver.stop();
      throw err;
    }
  }

  /**
   * Leaves the bollard in the site's fail state before letting go: fail-open lowers it,
   * fail-secure raises it under every interlock (loops clear, clearance, warning). Waits at
   * most `parkWithinMs`; a vehicle still on the loop keeps it down (the failsafe command that
   * runs after the service stops finishes the job). Outputs keep their levels afterwards.
   */
  async stop(options: { park?: boolean; parkWithinMs?: number } = {}): Promise<void> {
    if (!this.#started) return;
    if (options.park !== false) {
      const park = await this.park(options.parkWithinMs);
      if (!park.reached)
        this.#deps.log.warn(
          { lane: this.#deps.laneId, target: park.target, state: park.state },
          'bollard not in its fail state at stop; the failsafe command finishes when safe',
        );
    }
    this.#dispatch({ type: 'stop' });
    this.#started = false;
    this.#timer?.cancel();
    this.#timer = undefined;
    this.#timerAt = undefined;
    this.#heartbeatTimer?.cancel();
    this.#heartbeatTimer = undefined;
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    for (const w of this.#watchers) w(undefined);
    await this.#deps.driver.stop();
  }

  /** Default time to wait for the fail state: a full cycle with its clearance and warning, plus slack. */
  defaultParkMs(): number {
    const c = this.#cfg;
    return c.clearanceMs + c.warningMs + 2 * c.travelMs + 1_000;
  }

  /** Drives towards the fail state (fail-open: down, fail-secure: up) and waits for it. */
  async park(withinMs = this.defaultParkMs()): Promise<ParkResult> {
    const target = this.#cfg.failMode === 'fail-open' ? 'down' : 'up';
    const reachedState: ControllerState = target === 'down' ? 'held-down' : 'idle-up';
    const parked = (s: ControllerState): boolean =>
      s === reachedState ||
      // Held down by the emergency input, confirmed down: lower is held, which is the fail-open state.
      (target === 'down' && s === 'emergency-down' && positionOf(this.#m.inputs) === 'down');
    const state = this.#m.state;
    if (state === 'fault' || state === 'manual' || CONTROL_STATES.has(state)) return { reached: false, target, state };
    if (parked(state)) return { reached: true, target, state };
    this.hold(target, withinMs);
    await this.#waitFor((s) => parked(s) || s === 'fault' || s === 'manual', withinMs);
    // Never let go in the middle of a movement: let it finish (or fault) under supervision.
    const moving = (s: ControllerState): boolean => s === 'warning' || s === 'raising' || s === 'lowering';
    if (moving(this.#now())) {
      this.hold(target, this.#cfg.warningMs + this.#cfg.travelMs + 100);
      await this.#waitFor((s) => !moving(s), this.#cfg.warningMs + this.#cfg.travelMs + 100);
    }
    return { reached: parked(this.#now()), target, state: this.#now() };
  }

  /** The pipeline's hot path: writes the outputs before it returns. */
  requestOpen(passageId: string): OpenResult {
    if (!this.#started) {
      const result: OpenResult = { accepted: false, reason: 'not-started', state: this.#m.state };
      this.#emit({
        lane: this.#deps.laneId,
        at: this.#deps.clock.now(),
        type: 'refused',
        reason: 'not-started',
        passageId,
      });
      return result;
    }
    return this.#dispatch({ type: 'open', passageId }) ?? { accepted: true, reason: 'queued', state: this.#m.state };
  }

  /** A technician's hold: keep the bollard down, or up (refusing openings), for `ms`. */
  hold(direction: 'down' | 'up', ms: number): HoldResult {
    const s = this.#m.state;
    if (!this.#started || s === 'fault' || s === 'manual')
      return { accepted: false, reason: this.#started ? s : 'not-started' };
    const { clock } = this.#deps;
    this.#dispatch({ type: 'hold', direction, until: clock.monotonic() + ms });
    return { accepted: true, reason: `hold-${direction}`, until: clock.now() + ms };
  }

  releaseHold(): void {
    if (this.#started) this.#dispatch({ type: 'release-hold' });
  }

  /** Clears a latched fault; the controller then takes control again from what the inputs show. */
  resetFault(): boolean {
    if (!this.#started || this.#m.state !== 'fault') return false;
    this.#dispatch({ type: 'reset' });
    return true;
  }

  /**
   * A supervised down/up cycle. Refuses while a loop is occupied; a vehicle arriving aborts it
   * (the bollard lowers again). Reports the measured travel times against the configured limit.
   * `signal` stops it ('interrupted'): the holds are released at once and the movement under way
   * goes on under the interlocks; the caller then parks the bollard (stop() does).
   */
  async runTest(options: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<BollardTestReport> {
    const c = this.#cfg;
    const within = options.timeoutMs ?? c.travelMs + 1_000;
    const { signal } = options;
    if (!this.#started) return { ok: false, reason: 'not-started' };
    if (signal?.aborted) return { ok: false, reason: 'interrupted' };
    if (this.#m.inputs.loops.some(Boolean)) return { ok: false, reason: 'loop-occupied' };
    if (c.mode === 'open-pulse') return { ok: false, reason: 'open-pulse controllers run their own cycle' };
    if (this.#now() !== 'idle-up' && this.#now() !== 'held-down') return { ok: false, reason: `state ${this.#now()}` };
    let aborted = false;
    // Travel times on the monotonic clock (events carry wall time, which NTP may step).
    const at: Partial<Record<ControllerState, number>> = {};
    const watch = (e: BollardEvent | undefined): void => {
      if (e?.type !== 'transition' || !e.to) return;
      at[e.to] = this.#deps.clock.monotonic();
      if (e.reason === 'vehicle-on-loop') aborted = true;
    };
    this.#watchers.add(watch);
    try {
      let downMs: number | undefined;
      if (this.#now() !== 'held-down') {
        this.hold('down', within + c.warningMs + c.clearanceMs + within);
        await this.#waitFor((s) => s === 'held-down' || s === 'fault' || s === 'manual', within, signal);
        if (signal?.aborted) return { ok: false, reason: 'interrupted' };
        if (this.#now() !== 'held-down') return this.#testFailure(within);
        if (at.lowering !== undefined && at['held-down'] !== undefined)
          downMs = Math.round(at['held-down'] - at.lowering);
      }
      const upWithin = c.clearanceMs + c.warningMs + within;
      this.hold('up', upWithin);
      await this.#waitFor((s) => s === 'idle-up' || s === 'fault' || s === 'manual' || aborted, upWithin, signal);
      const down = downMs !== undefined ? { downMs } : {};
      if (signal?.aborted) return { ok: false, reason: 'interrupted', ...down };
      if (aborted) return { ok: false, reason: 'vehicle-on-loop', ...down };
      if (this.#now() !== 'idle-up') return { ...this.#testFailure(upWithin), ...down };
      const upMs =
        at.raising !== undefined && at['idle-up'] !== undefined ? Math.round(at['idle-up'] - at.raising) : undefined;
      return { ok: true, reason: 'completed', ...down, ...(upMs !== undefined ? { upMs } : {}) };
    } finally {
      this.#watchers.delete(watch);
      this.releaseHold();
    }
  }

  #testFailure(within: number): BollardTestReport {
    const m = this.#m;
    if (m.state === 'fault') return { ok: false, reason: 'fault', ...(m.fault ? { fault: m.fault.code } : {}) };
    if (m.state === 'manual') return { ok: false, reason: 'manual' };
    return { ok: false, reason: `timeout after ${within} ms in state ${m.state}` };
  }

  status(): BollardStatus {
    const m = this.#m;
    const d = this.#deps;
    // Monotonic instants shown as wall-clock times, as the wall clock reads now.
    const mono = d.clock.monotonic();
    const wall = d.clock.now();
    const toWall = (t: number): number => Math.round(wall + (t - mono));
    return {
      lane: d.laneId,
      driver: d.driver.kind,
      mode: this.#cfg.mode,
      failMode: this.#cfg.failMode,
      state: m.state,
      since: m.since,
      reason: m.reason,
      position: positionOf(m.inputs),
      inputs: m.inputs,
      outputs: this.#written ?? d.driver.readOutputs(),
      ...(m.fault ? { fault: { code: m.fault.code, detail: m.fault.detail, at: m.fault.at } } : {}),
      ...(m.hold ? { hold: { direction: m.hold.direction, until: toWall(m.hold.until) } } : {}),
      pendingPassages: m.pendingPassages,
      ...(m.loopsClearSince !== undefined ? { loopsClearSince: toWall(m.loopsClearSince) } : {}),
    };
  }

  /** Subscribes to events (in addition to deps.onEvent), e.g. for a CLI that shows them live. */
  subscribe(listener: (event: BollardEvent) => void): () => void {
    const w = (e: BollardEvent | undefined): void => {
      if (e) listener(e);
    };
    this.#watchers.add(w);
    return () => this.#watchers.delete(w);
  }

  /** Resolves when `done` holds, after `withinMs`, at stop, or when `signal` aborts. */
  #waitFor(done: (state: ControllerState) => boolean, withinMs: number, signal?: AbortSignal): Promise<void> {
    if (done(this.#m.state) || signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const finish = (): void => {
        timer.cancel();
        this.#watchers.delete(watch);
        signal?.removeEventListener('abort', finish);
        resolve();
      };
      const watch = (e: BollardEvent | undefined): void => {
        if (e === undefined || done(this.#m.state)) finish();
      };
      const timer = this.#deps.clock.setTimer(withinMs, finish);
      this.#watchers.add(watch);
      signal?.addEventListener('abort', finish, { once: true });
    });
  }

  /** Runs machine inputs one at a time; an input arriving while one is processed (from a driver callback) queues. */
  #dispatch(input: MachineInput): OpenResult | undefined {
    this.#queue.push(input);
    if (this.#busy) return undefined;
    this.#busy = true;
    let open: OpenResult | undefined;
    try {
      for (let next = this.#queue.shift(); next; next = this.#queue.shift()) {
        const r = this.#process(next);
        if (next === input) open = r;
      }
    } finally {
      this.#busy = false;
    }
    return open;
  }

  #process(input: MachineInput): OpenResult | undefined {
    const time = this.#time();
    const now = time.mono;
    const result = step(this.#m, input, time, this.#cfg);
    const before = this.#m.state;
    this.#m = result.machine;
    const events = [...result.events];
    if (this.#m.state !== 'stopped' && this.#m.state !== 'starting') {
      const failed = this.#write(now);
      if (failed) {
        const r = step(this.#m, { type: 'io-error', detail: failed }, time, this.#cfg);
        this.#m = r.machine;
        events.push(...r.events);
        // One attempt to put the safe state on the pins; a second failure is only logged.
        this.#write(now);
      }
    }
    if (before !== this.#m.state) {
      this.#metrics.state.set({ lane: this.#deps.laneId, state: before }, 0);
      this.#metrics.state.set({ lane: this.#deps.laneId, state: this.#m.state }, 1);
    }
    for (const e of events) this.#emit(e);
    this.#schedule(now);
    return result.open;
  }

  /** Writes the machine's outputs at `now` (monotonic) if they changed; returns an error text when the write failed. */
  #write(now: number): string | undefined {
    const outputs: BollardOutputs = { ...outputsOf(this.#m, now, this.#cfg), heartbeat: this.#heartbeat };
    const w = this.#written;
    if (
      w &&
      w.lower === outputs.lower &&
      w.raise === outputs.raise &&
      w.openRequest === outputs.openRequest &&
      w.lightRed === outputs.lightRed &&
      w.lightGreen === outputs.lightGreen &&
      w.warning === outputs.warning &&
      w.heartbeat === outputs.heartbeat
    )
      return undefined;
    try {
      this.#deps.driver.write(outputs);
      this.#written = outputs;
      return undefined;
    } catch (err) {
      this.#metrics.ioErrors.inc({ lane: this.#deps.laneId });
      const detail = err instanceof Error ? err.message : String(err);
      this.#deps.log.error({ lane: this.#deps.laneId, err: detail }, 'bollard output write failed');
      return detail;
    }
  }

  #emit(e: BollardEvent): void {
    const lane = this.#deps.laneId;
    const log = this.#deps.log;
    switch (e.type) {
      case 'transition':
        if (e.to) this.#metrics.transitions.inc({ lane, to: e.to });
        log.info({ lane, from: e.from, to: e.to, reason: e.reason, passageId: e.passageId }, 'bollard transition');
        break;
      case 'fault':
        this.#metrics.faults.inc({ lane, fault: e.fault ?? e.reason });
        log.warn({ lane, fault: e.fault, detail: e.detail }, 'bollard fault');
        break;
      case 'refused':
        this.#metrics.refused.inc({ lane, reason: e.reason });
        log.warn({ lane, reason: e.reason, passageId: e.passageId }, 'bollard open request refused');
        break;
      case 'vehicle':
        this.#metrics.vehicles.inc({ lane, kind: e.reason });
        break;
      case 'fault-cleared':
        log.info({ lane, reason: e.reason }, 'bollard fault cleared');
        break;
    }
    try {
      this.#deps.onEvent(e);
    } catch (err) {
      log.error({ lane, err: err instanceof Error ? err.message : String(err) }, 'bollard event handler failed');
    }
    for (const w of [...this.#watchers]) w(e);
  }

  #schedule(now: number): void {
    if (!this.#started || this.#m.state === 'stopped') return;
    const at = nextDeadline(this.#m, now, this.#cfg);
    if (at === this.#timerAt) return;
    this.#timer?.cancel();
    this.#timerAt = at;
    this.#timer =
      at === undefined
        ? undefined
        : this.#deps.clock.setTimer(at - now, () => {
            this.#timer = undefined;
            this.#timerAt = undefined;
            if (this.#started) this.#dispatch({ type: 'tick' });
          });
  }

  #startHeartbeat(): void {
    const d = this.#deps;
    if (d.driver.kind !== 'gpio' || d.config.pins?.heartbeat === undefined) return;
    const beat = (): void => {
      if (!this.#started) return;
      this.#heartbeat = !this.#heartbeat;
      // A heartbeat that cannot be written is a failed GPIO write like any other: a fault.
      const failed = this.#write(d.clock.monotonic());
      if (failed) this.#dispatch({ type: 'io-error', detail: failed });
      this.#heartbeatTimer = d.clock.setTimer(d.config.timing.heartbeatMs, beat);
    };
    this.#heartbeatTimer = d.clock.setTimer(d.config.timing.heartbeatMs, beat);
  }
}
