import { describe, expect, test } from 'vitest';
import { BollardSimulator, simulatorOptionsFrom, type SimVehicleEvent } from '../../src/bollard/simulator.js';
import { ALL_OFF, type BollardOutputs } from '../../src/bollard/types.js';
import { bollardSchema } from '../../src/config/schema.js';
import { ManualClock } from '../../src/shared/clock.js';

/** The simulator on its own, driven by raw outputs (no controller): the physical model. */
async function simulator(overrides: Record<string, unknown> = {}, extra: { initialHeight?: number } = {}) {
  const clock = new ManualClock();
  const config = bollardSchema.parse({
    driver: 'simulator',
    timing: { travelMs: 4000 },
    simulator: { travelMs: 3000, ...overrides },
  });
  const sim = new BollardSimulator({ ...simulatorOptionsFrom(config, clock), ...extra });
  const events: SimVehicleEvent[] = [];
  sim.onVehicle((e) => events.push(e));
  await sim.start();
  const t0 = clock.now();
  const drive = (o: Partial<BollardOutputs>): void => sim.write({ ...ALL_OFF, ...o });
  return { sim, clock, events, drive, t: () => clock.now() - t0 };
}

describe('bollard simulator', () => {
  test('moves with its travel time and its limit switches close at the ends', async () => {
    const { sim, clock, drive } = await simulator();
    drive({ raise: true });
    expect(sim.read()).toMatchObject({ positionUp: true, positionDown: false });
    drive({ lower: true });
    clock.advance(100);
    expect(sim.read()).toMatchObject({ positionUp: false, positionDown: false });
    expect(sim.snapshot().motion).toBe('down');
    clock.advance(2840);
    expect(sim.read().positionDown).toBe(false);
    clock.advance(60);
    expect(sim.read().positionDown).toBe(true);
    clock.advance(100);
    expect(sim.height()).toBe(0);
    expect(sim.snapshot().motion).toBe('still');
  });

  test('a vehicle waits for the bollard to be down, then occupies the loop for (loop + length) / speed', async () => {
    const { sim, clock, drive, events, t } = await simulator({ loopsM: [[-0.5, 2.5]], stopLineM: 1 });
    drive({ raise: true });
    sim.vehicleArrives({ lengthM: 5, speedKmh: 18 }); // 5 m/s
    clock.advance(10_000);
    expect(sim.read().loops).toEqual([false]);
    const lowerAt = t();
    drive({ lower: true });
    const loopTimes: number[] = [];
    sim.onInputs((i) => loopTimes.push(i.loops[0] ? t() : -t()));
    clock.advance(10_000);
    const drives = events.find((e) => e.type === 'drives')!;
    expect(drives.at - clock.now() + 10_000 + lowerAt).toBeGreaterThanOrEqual(3000);
    // Enters at 0.5 m / 5 m/s = 100 ms after driving off, leaves after (1 + 2.5 + 5) m = 1700 ms.
    const enter = loopTimes.find((x) => x > 0)!;
    const leave = -loopTimes.find((x) => x < 0 && -x > enter)!;
    expect(leave - enter).toBeGreaterThanOrEqual(1599);
    expect(leave - enter).toBeLessThanOrEqual(1601);
    expect(events.map((e) => e.type)).toEqual(['arrived', 'drives', 'passed']);
    expect(sim.stats).toMatchObject({ passed: 1, impacts: 0 });
  });

  test('a waiting vehicle turns away after its patience when the bollard stays up', async () => {
    const { sim, clock, drive, events } = await simulator({ patienceMs: 8000 });
    drive({ raise: true });
    sim.vehicleArrives();
    clock.advance(7999);
    expect(events.map((e) => e.type)).toEqual(['arrived']);
    clock.advance(2);
    expect(events.map((e) => e.type)).toEqual(['arrived', 'turned-away']);
    expect(sim.stats.turnedAway).toBe(1);
  });

  test('raising onto a vehicle is counted as an unsafe request, and as an impact when the controller has no interlock', async () => {
    const { sim, clock, drive } = await simulator({ interlock: false }, { initialHeight: 0 });
    drive({ lower: true });
    sim.vehicleArrives({ lengthM: 10, speedKmh: 5 });
    clock.advance(1500);
    expect(sim.read().loops[0]).toBe(true);
    drive({ raise: true });
    expect(sim.stats.unsafeRaiseRequests).toBe(1);
    clock.advance(500);
    expect(sim.stats.impacts).toBe(1);
  });

  test("the controller's own interlock refuses to rise onto an occupied loop, and reverses a rise", async () => {
    const { sim, clock, drive } = await simulator({ interlock: true }, { initialHeight: 0 });
    sim.setLoopForced(0, true);
    drive({ raise: true });
    clock.advance(1000);
    expect(sim.height()).toBe(0);
    sim.setLoopForced(0, false);
    clock.advance(1000);
    expect(sim.height()).toBeGreaterThan(0.3);
    sim.setLoopForced(0, true);
    clock.advance(100);
    expect(sim.snapshot().motion).toBe('down');
  });

  test('with no command, the controller does what its wiring says: fail-secure rises, fail-open lowers', async () => {
    const secure = await simulator({}, { initialHeight: 0 });
    secure.drive({});
    secure.clock.advance(4000);
    expect(secure.sim.height()).toBe(1);
    const clock = new ManualClock();
    const open = new BollardSimulator(
      simulatorOptionsFrom(bollardSchema.parse({ driver: 'simulator', failMode: 'fail-open' }), clock),
    );
    await open.start();
    open.write(ALL_OFF);
    clock.advance(4000);
    expect(open.height()).toBe(0);
  });

  test('injected faults: stuck does not move, slow takes longer, a dead switch never closes, controller fault raises its input', async () => {
    const { sim, clock, drive } = await simulator();
    sim.injectFault({ kind: 'stuck' });
    drive({ lower: true });
    clock.advance(5000);
    expect(sim.height()).toBe(1);
    sim.clearFaults('stuck');
    sim.injectFault({ kind: 'slow', factor: 2 });
    drive({ lower: true });
    clock.advance(3000);
    expect(sim.height()).toBeCloseTo(0.5, 2);
    sim.injectFault({ kind: 'switch', which: 'down', failure: 'dead' });
    clock.advance(4000);
    expect(sim.height()).toBe(0);
    expect(sim.read().positionDown).toBe(false);
    sim.injectFault({ kind: 'controller-fault' });
    expect(sim.read().controllerFault).toBe(true);
    drive({ raise: true });
    clock.advance(4000);
    expect(sim.height()).toBe(0);
    sim.clearFaults();
    expect(sim.read()).toMatchObject({ controllerFault: false, positionDown: true });
  });

  test('emergency input and manual operation move the bollard the way a controller does', async () => {
    const { sim, clock, drive } = await simulator();
    drive({ raise: true });
    sim.setEmergency(true);
    expect(sim.read().emergency).toBe(true);
    sim.setManualOverride(true);
    sim.manualCommand('down');
    clock.advance(3100);
    expect(sim.height()).toBe(0);
    sim.manualCommand('up');
    clock.advance(1500);
    expect(sim.height()).toBeCloseTo(0.5, 2);
    expect(() => sim.setLoopForced(3, true)).toThrow(/no loop 3/);
  });
});
