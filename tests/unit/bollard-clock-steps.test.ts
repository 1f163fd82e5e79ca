import { describe, expect, test } from 'vitest';
import { ManualClock } from '../../src/shared/clock.js';
import { bollardLab, type BollardLab } from '../helpers/bollard-lab.js';

/**
 * A Raspberry Pi has no real-time clock: after a boot or a power cut its wall clock runs from a
 * saved time until NTP steps it, by minutes or days, either way. The bollard's interlocks
 * measure time on the monotonic clock, so a step changes nothing they decide; the wall clock
 * only stamps the events. (The random form of this is in bollard-invariants.test.ts.)
 */

// Travel limit 4 s (the simulated bollard takes 3 s), clearance 2 s, warning 1.5 s, max hold-down 20 s.
const timing = { travelMs: 4000, clearanceMs: 2000, warningMs: 1500, maxHoldDownMs: 20_000 };
const HOUR = 3_600_000;
const STEPS = [
  ['backwards', -HOUR],
  ['forwards', HOUR],
] as const;

/** Advances to `t` ms after the lab started (monotonic). */
function at(lab: BollardLab, t: number): void {
  lab.clock.advance(t - lab.t());
}

/** When (monotonic ms since the lab started) the controller first entered each state. */
function recordEntries(lab: BollardLab): Map<string, number> {
  const times = new Map<string, number>();
  lab.lane.controller.subscribe((e) => {
    if (e.to && !times.has(e.to)) times.set(e.to, lab.t());
  });
  return times;
}

test('ManualClock: stepWall moves the wall clock alone; its timers and its monotonic reading do not move', () => {
  const clock = new ManualClock(Date.UTC(2026, 0, 5, 9), 500);
  const fired: number[] = [];
  clock.setTimer(1000, () => fired.push(clock.monotonic()));
  clock.stepWall(-HOUR);
  expect(clock.now()).toBe(Date.UTC(2026, 0, 5, 8));
  expect(clock.monotonic()).toBe(500);
  expect(fired).toEqual([]);
  clock.advance(1000);
  expect(fired).toEqual([1500]);
  expect(clock.now()).toBe(Date.UTC(2026, 0, 5, 8) + 1000);
  clock.stepWall(2 * HOUR);
  clock.set(Date.UTC(2026, 0, 5, 10, 0, 2));
  expect(clock.monotonic()).toBe(2500);
});

describe('a wall-clock step changes nothing the bollard decides', () => {
  test.each(STEPS)(
    'stepped %s during a lowering: the missing down confirmation is a fault at the travel time, no sooner, no later',
    async (_, step) => {
      const lab = await bollardLab({ timing });
      const { sim, lane, clock } = lab;
      sim.injectFault({ kind: 'stuck' });
      expect(lane.controller.requestOpen('p1')).toMatchObject({ accepted: true, reason: 'lowering' });
      at(lab, 1000);
      clock.stepWall(step);
      at(lab, 1500);
      // A second vehicle is admitted: the controller looks at its deadlines again.
      expect(lane.controller.requestOpen('p2')).toMatchObject({ accepted: true, reason: 'lowering' });
      at(lab, 3999);
      expect(lane.controller.state).toBe('lowering');
      at(lab, 4000);
      expect(lane.controller.state).toBe('fault');
      const fault = lab.events.find((e) => e.type === 'fault')!;
      expect(fault.fault).toBe('lower-timeout');
      // The journal gets the wall-clock time, as NTP set it.
      expect(fault.at).toBe(clock.now());
      expect(lane.controller.status().fault?.at).toBe(clock.now());
    },
  );

  test.each(STEPS)(
    'stepped %s during the clearance time: no rise before every loop has been clear for clearanceMs, and none later',
    async (_, step) => {
      const lab = await bollardLab({ timing });
      const { sim, lane, clock } = lab;
      const times = recordEntries(lab);
      sim.vehicleArrives({ lengthM: 4.5, speedKmh: 15 });
      lane.controller.requestOpen('p1');
      lab.until(() => lab.events.some((e) => e.type === 'vehicle'), 30_000, 1);
      const clear = lab.t();
      at(lab, clear + 500);
      clock.stepWall(step);
      at(lab, clear + 1000);
      // A technician asks for the bollard up: it still waits for the clearance time.
      expect(lane.controller.hold('up', 60_000)).toMatchObject({ accepted: true });
      at(lab, clear + 1999);
      expect(lane.controller.state).toBe('held-down');
      expect(sim.readOutputs()).toMatchObject({ lower: true, raise: false });
      at(lab, clear + 2000);
      expect(lane.controller.state).toBe('warning');
      expect(times.get('warning')).toBe(clear + 2000);
      at(lab, clear + 3500);
      expect(lane.controller.state).toBe('raising');
      expect(sim.stats).toMatchObject({ passed: 1, unsafeRaiseRequests: 0, impacts: 0 });
    },
  );

  test.each(STEPS)('stepped %s during the warning lead: the rise starts warningMs after it began', async (_, step) => {
    const lab = await bollardLab({ timing });
    const { sim, lane, clock } = lab;
    const times = recordEntries(lab);
    sim.vehicleArrives();
    lane.controller.requestOpen('p1');
    lab.until(() => lane.controller.state === 'warning', 30_000, 1);
    const warning = lab.t();
    at(lab, warning + 700);
    clock.stepWall(step);
    at(lab, warning + 1499);
    expect(lane.controller.state).toBe('warning');
    at(lab, warning + 1500);
    expect(lane.controller.state).toBe('raising');
    expect(times.get('raising')).toBe(warning + 1500);
  });

  test.each(STEPS)(
    'stepped %s while held down for a vehicle that never comes: it rises after maxHoldDownMs, not an hour early or late',
    async (_, step) => {
      const lab = await bollardLab({ timing });
      const { lane, clock } = lab;
      const times = recordEntries(lab);
      lane.controller.requestOpen('p1');
      lab.until(() => lane.controller.state === 'held-down', 10_000, 1);
      const down = lab.t();
      at(lab, down + 5000);
      clock.stepWall(step);
      at(lab, down + 19_999);
      expect(lane.controller.state).toBe('held-down');
      at(lab, down + 20_000);
      expect(lane.controller.state).toBe('warning');
      expect(lab.events.find((e) => e.to === 'warning')?.reason).toBe('max-hold-down');
      expect(times.get('warning')).toBe(down + 20_000);
    },
  );

  test.each(STEPS)(
    'stepped %s during a technician hold up: openings stay refused until the hold has lasted its time',
    async (_, step) => {
      const lab = await bollardLab({ timing });
      const { lane, clock } = lab;
      const held = lane.controller.hold('up', 10_000);
      expect(held).toMatchObject({ accepted: true, until: clock.now() + 10_000 });
      at(lab, 5000);
      clock.stepWall(step);
      // Shown as the (stepped) wall clock reads: 5 s from now.
      expect(lane.controller.status().hold).toEqual({ direction: 'up', until: clock.now() + 5000 });
      at(lab, 6000);
      expect(lane.controller.requestOpen('p1')).toMatchObject({ accepted: false, reason: 'held-up' });
      at(lab, 9999);
      expect(lane.controller.requestOpen('p2')).toMatchObject({ accepted: false, reason: 'held-up' });
      at(lab, 10_000);
      expect(lane.controller.requestOpen('p3')).toMatchObject({ accepted: true, reason: 'lowering' });
    },
  );

  test.each(STEPS)(
    'stepped %s during a technician hold down: the bollard is let go when the hold ends',
    async (_, step) => {
      const lab = await bollardLab({ timing });
      const { lane, clock } = lab;
      lane.controller.hold('down', 10_000);
      at(lab, 5000);
      clock.stepWall(step);
      at(lab, 9999);
      expect(lane.controller.state).toBe('held-down');
      at(lab, 10_000);
      expect(lane.controller.state).toBe('warning');
    },
  );

  test('stepped backwards during the supervised test cycle: the measured travel times are the real ones', async () => {
    const { lane, clock } = await bollardLab({ timing });
    const running = lane.controller.runTest();
    clock.advance(1000);
    clock.stepWall(-HOUR);
    for (let i = 0; i < 20; i++) {
      clock.advance(1000);
      await Promise.resolve();
    }
    const report = await running;
    expect(report).toMatchObject({ ok: true, reason: 'completed' });
    expect(report.downMs).toBeGreaterThan(2900);
    expect(report.downMs).toBeLessThan(3100);
    expect(report.upMs).toBeGreaterThan(2900);
    expect(report.upMs).toBeLessThan(3100);
  });
});
