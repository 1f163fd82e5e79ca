import { describe, expect, test } from 'vitest';
import { bollardEventToJournal } from '../../src/bollard/index.js';
import { bollardLab } from '../helpers/bollard-lab.js';

// Site timings used throughout: travel limit 4 s (the simulated bollard takes 3 s),
// clearance 2 s, warning 1.5 s, max hold-down 20 s.
const timing = { travelMs: 4000, clearanceMs: 2000, warningMs: 1500, maxHoldDownMs: 20_000 };

describe('bollard controller with the simulated bollard', () => {
  test('an admitted vehicle: lower is on the pins when requestOpen returns, green once down, rise after clearance and warning', async () => {
    const lab = await bollardLab({ timing });
    const { sim, lane, clock } = lab;
    expect(lane.controller.state).toBe('idle-up');
    sim.vehicleArrives({ lengthM: 4.5, speedKmh: 15 });
    const r = lane.controller.requestOpen('p1');
    expect(r).toMatchObject({ accepted: true, reason: 'lowering' });
    expect(sim.readOutputs()).toMatchObject({ lower: true, raise: false, lightGreen: false, lightRed: true });
    clock.advance(3100);
    expect(lane.controller.state).toBe('held-down');
    expect(sim.readOutputs()).toMatchObject({ lower: true, lightGreen: true, lightRed: false });
    clock.advance(20_000);
    expect(sim.stats).toMatchObject({ passed: 1, impacts: 0, unsafeRaiseRequests: 0 });
    expect(lab.states()).toEqual(['idle-up', 'lowering', 'held-down', 'warning', 'raising', 'idle-up']);
    const passed = lab.events.find((e) => e.type === 'vehicle')!;
    expect(passed.reason).toBe('passed');
    const warning = lab.events.find((e) => e.to === 'warning')!;
    const raising = lab.events.find((e) => e.to === 'raising')!;
    expect(warning.at - passed.at).toBe(2000);
    expect(raising.at - warning.at).toBe(1500);
    expect(raising.command).toBe('raise');
    expect(sim.readOutputs()).toMatchObject({ raise: true, lower: false, warning: false });
  });

  test('every transition is reported after its command is on the pins (the journal never runs ahead of GPIO)', async () => {
    const lab = await bollardLab({ timing });
    lab.sim.vehicleArrives();
    lab.lane.controller.requestOpen('p1');
    lab.until(() => lab.lane.controller.state === 'idle-up' && lab.events.length > 3);
    const commanded = lab.events.map((e, i) => [e, lab.outputsAtEvent[i]!] as const).filter(([e]) => e.command);
    expect(commanded.map(([e]) => e.command)).toEqual(['lower', 'raise']);
    for (const [e, outputs] of commanded) expect(outputs[e.command as 'lower' | 'raise']).toBe(true);
  });

  test('a vehicle on the loop keeps the bollard down; it rises only after the clearance time', async () => {
    const { sim, lane, clock, events } = await bollardLab({ timing });
    lane.controller.requestOpen('p1');
    clock.advance(3100);
    sim.setLoopForced(0, true);
    clock.advance(60_000); // far beyond max hold-down
    expect(lane.controller.state).toBe('held-down');
    expect(sim.readOutputs()).toMatchObject({ lower: true, raise: false });
    sim.setLoopForced(0, false);
    clock.advance(1999);
    expect(lane.controller.state).toBe('held-down');
    clock.advance(1);
    expect(lane.controller.state).toBe('warning');
    expect(events.some((e) => e.type === 'vehicle')).toBe(true);
  });

  test('a vehicle arriving during a rise stops it and lowers again, and the bollard rises after it passed', async () => {
    const lab = await bollardLab({ timing });
    const { sim, lane, clock, events } = lab;
    sim.vehicleArrives();
    lane.controller.requestOpen('p1');
    lab.until(() => lane.controller.state === 'raising'); // down, passed, clearance, warning
    clock.advance(500);
    const reckless = sim.vehicleArrives({ reckless: true, speedKmh: 10 });
    clock.advance(400); // reaches the loop (0.5 m at 2.8 m/s)
    expect(lane.controller.state).toBe('lowering');
    const reversal = events.find((e) => e.from === 'raising' && e.to === 'lowering')!;
    expect(reversal.reason).toBe('vehicle-on-loop');
    expect(sim.readOutputs()).toMatchObject({ lower: true, raise: false });
    clock.advance(30_000);
    expect(lane.controller.state).toBe('idle-up');
    expect(sim.stats.unsafeRaiseRequests).toBe(0);
    expect(events.filter((e) => e.type === 'vehicle').map((e) => e.reason)).toEqual(['passed', 'unannounced']);
    expect(reckless.id).toBe(2);
  });

  test('the bollard rises again after max hold-down when the admitted vehicle never comes', async () => {
    const { lane, clock, events } = await bollardLab({ timing });
    lane.controller.requestOpen('p1');
    clock.advance(3100);
    clock.advance(19_999 - 3100 + 2941);
    expect(lane.controller.state).toBe('held-down');
    clock.advance(2);
    expect(lane.controller.state).toBe('warning');
    expect(events.find((e) => e.to === 'warning')!.reason).toBe('max-hold-down');
  });

  test('an open request during the warning cancels the rise', async () => {
    const lab = await bollardLab({ timing });
    const { sim, lane } = lab;
    sim.vehicleArrives();
    lane.controller.requestOpen('p1');
    lab.until(() => lane.controller.state === 'warning');
    expect(lane.controller.requestOpen('p2')).toMatchObject({ accepted: true, reason: 'rise-cancelled' });
    expect(sim.readOutputs()).toMatchObject({ lower: true, warning: false, lightGreen: true });
  });

  test('emergency lowers and holds until released, then the bollard rises under the usual interlocks', async () => {
    const { sim, lane, clock } = await bollardLab({ timing });
    sim.setEmergency(true);
    expect(lane.controller.state).toBe('emergency-down');
    expect(sim.readOutputs()).toMatchObject({ lower: true, raise: false });
    clock.advance(120_000);
    expect(lane.controller.state).toBe('emergency-down');
    expect(sim.readOutputs()).toMatchObject({ lower: true, lightGreen: true });
    sim.setLoopForced(0, true); // the fire engine is over the bollard when the key is turned back
    sim.setEmergency(false);
    expect(lane.controller.state).toBe('held-down');
    clock.advance(60_000);
    expect(lane.controller.state).toBe('held-down');
    sim.setLoopForced(0, false);
    clock.advance(1999);
    expect(lane.controller.state).toBe('held-down');
    clock.advance(1);
    expect(lane.controller.state).toBe('warning');
  });

  test('a stuck bollard is a lower-timeout fault: journaled, red, openings refused, no retry', async () => {
    const { sim, lane, clock, events } = await bollardLab({ timing });
    sim.injectFault({ kind: 'stuck' });
    lane.controller.requestOpen('p1');
    clock.advance(3999);
    expect(lane.controller.state).toBe('lowering');
    clock.advance(1);
    expect(lane.controller.state).toBe('fault');
    const fault = events.find((e) => e.type === 'fault')!;
    expect(fault).toMatchObject({ fault: 'lower-timeout', to: 'fault' });
    // fail-secure and still confirmed up: both motion outputs released, nothing forced.
    expect(sim.readOutputs()).toMatchObject({ lower: false, raise: false, lightRed: true, lightGreen: false });
    expect(lane.controller.requestOpen('p2')).toMatchObject({ accepted: false, reason: 'fault' });
    expect(events.at(-1)).toMatchObject({ type: 'refused', reason: 'fault', passageId: 'p2' });
    sim.clearFaults();
    clock.advance(60_000);
    expect(lane.controller.state).toBe('fault');
    expect(bollardEventToJournal(fault)).toMatchObject({
      type: 'fault',
      lane: 'in-1',
      payload: { fault: 'lower-timeout', origin: 'bollard' },
    });
  });

  test('an emergency during a lowering does not extend its travel time: no down confirmation is a fault on time', async () => {
    const { sim, lane, clock, events } = await bollardLab({ timing });
    sim.injectFault({ kind: 'stuck' });
    lane.controller.requestOpen('p1');
    clock.advance(3000);
    sim.setEmergency(true);
    expect(lane.controller.state).toBe('emergency-down');
    clock.advance(999);
    expect(lane.controller.state).toBe('emergency-down');
    clock.advance(1);
    expect(lane.controller.state).toBe('fault');
    // Journaled as what is on the pins: the emergency lowers, although the bollard is up on a fail-secure site.
    expect(events.find((e) => e.type === 'fault')).toMatchObject({ fault: 'lower-timeout', command: 'lower' });
    expect(sim.readOutputs()).toMatchObject({ lower: true, raise: false });
  });

  test('a bollard that does not confirm up is a raise-timeout fault and is lowered (the safe direction)', async () => {
    const { sim, lane, clock, events } = await bollardLab({ timing });
    sim.vehicleArrives();
    lane.controller.requestOpen('p1');
    clock.advance(9000);
    sim.injectFault({ kind: 'switch', which: 'up', failure: 'dead' });
    clock.advance(10_000);
    expect(events.find((e) => e.type === 'fault')).toMatchObject({ fault: 'raise-timeout' });
    expect(sim.readOutputs()).toMatchObject({ lower: true, raise: false });
    clock.advance(4000);
    expect(sim.read().positionDown).toBe(true);
    expect(lane.controller.resetFault()).toBe(true);
    expect(events.find((e) => e.type === 'fault-cleared')).toMatchObject({ reason: 'reset' });
    // Control resumes from the down position; the still dead switch faults the next rise again.
    expect(lane.controller.state).toBe('warning');
    clock.advance(10_000);
    expect(events.filter((e) => e.type === 'fault').map((e) => e.fault)).toEqual(['raise-timeout', 'raise-timeout']);
  });

  test('fail-open: a fault lowers the bollard even when it is up', async () => {
    const { sim, lane } = await bollardLab({ timing, failMode: 'fail-open' });
    sim.injectFault({ kind: 'controller-fault' });
    expect(lane.controller.state).toBe('fault');
    expect(sim.readOutputs()).toMatchObject({ lower: true, raise: false });
    sim.clearFaults('controller-fault');
    expect(lane.controller.state).toBe('idle-up');
  });

  test('open-pulse: a fault on a fail-open site holds the open input and journals it as such', async () => {
    const { sim, lane, events } = await bollardLab({ timing, mode: 'open-pulse', failMode: 'fail-open' });
    sim.injectFault({ kind: 'controller-fault' });
    expect(lane.controller.state).toBe('fault');
    expect(sim.readOutputs()).toMatchObject({ openRequest: true, lower: false, raise: false });
    expect(events.find((e) => e.type === 'fault')).toMatchObject({ fault: 'controller-fault', command: 'open' });
  });

  test('green only when down is confirmed: a dead down switch never shows green', async () => {
    const { sim, lane, clock, writes } = await bollardLab({ timing });
    sim.injectFault({ kind: 'switch', which: 'down', failure: 'dead' });
    lane.controller.requestOpen('p1');
    clock.advance(10_000);
    expect(lane.controller.state).toBe('fault');
    expect(writes.some((w) => w.outputs.lightGreen)).toBe(false);
  });

  test('manual override: the gateway stops commanding a rise and takes control back from the switches', async () => {
    const { sim, lane, clock } = await bollardLab({ timing });
    sim.setManualOverride(true);
    expect(lane.controller.state).toBe('manual');
    expect(lane.controller.requestOpen('p1')).toMatchObject({ accepted: false, reason: 'manual' });
    sim.manualCommand('down');
    clock.advance(4000);
    expect(sim.readOutputs()).toMatchObject({ lower: true, raise: false });
    sim.setManualOverride(false);
    // Down and the loops long clear: the usual warning, then the rise.
    expect(lane.controller.state).toBe('warning');
    clock.advance(1500);
    expect(lane.controller.state).toBe('raising');
  });

  test('a restart finds the bollard down and keeps it down until the clearance time has passed', async () => {
    const { lane, clock } = await bollardLab({ timing }, { initialHeight: 0 });
    expect(lane.controller.state).toBe('held-down');
    clock.advance(1999);
    expect(lane.controller.state).toBe('held-down');
    clock.advance(1);
    expect(lane.controller.state).toBe('warning');
  });

  test('a restart with the bollard between positions lowers it first', async () => {
    const { lane, sim } = await bollardLab({ timing }, { initialHeight: 0.5 });
    expect(lane.controller.state).toBe('lowering');
    expect(sim.readOutputs().lower).toBe(true);
  });

  test('a technician hold up refuses openings until it expires; a hold down outlasts max hold-down', async () => {
    const { lane, clock } = await bollardLab({ timing });
    expect(lane.controller.hold('up', 10_000)).toMatchObject({ accepted: true });
    expect(lane.controller.requestOpen('p1')).toMatchObject({ accepted: false, reason: 'held-up' });
    clock.advance(10_000);
    expect(lane.controller.requestOpen('p2')).toMatchObject({ accepted: true });
    lane.controller.hold('down', 60_000);
    clock.advance(59_000);
    expect(lane.controller.state).toBe('held-down');
    clock.advance(1000);
    expect(lane.controller.state).toBe('warning');
  });

  test('the supervised test cycle reports travel times, and refuses while a loop is occupied', async () => {
    const { lane, sim, clock } = await bollardLab({ timing });
    sim.setLoopForced(0, true);
    expect(await lane.controller.runTest()).toMatchObject({ ok: false, reason: 'loop-occupied' });
    sim.setLoopForced(0, false);
    const running = lane.controller.runTest();
    for (let i = 0; i < 20; i++) {
      clock.advance(1000);
      await Promise.resolve();
    }
    const report = await running;
    expect(report).toMatchObject({ ok: true, reason: 'completed' });
    expect(report.downMs).toBeGreaterThan(2900);
    expect(report.downMs).toBeLessThan(3100);
    expect(report.upMs).toBeGreaterThan(2900);
  });

  test('an aborted test cycle (Ctrl-C) returns interrupted at once and releases its holds; the lowering under way still ends in a confirmed position', async () => {
    const { lane, sim, clock, events } = await bollardLab({ timing });
    const abort = new AbortController();
    const running = lane.controller.runTest({ signal: abort.signal });
    clock.advance(1000);
    expect(lane.controller.state).toBe('lowering');
    abort.abort('SIGINT');
    expect(await running).toEqual({ ok: false, reason: 'interrupted' });
    expect(lane.controller.status().hold).toBeUndefined();
    expect(sim.readOutputs()).toMatchObject({ lower: true, raise: false });
    clock.advance(10_000);
    expect(lane.controller.state).toBe('idle-up');
    expect(events.flatMap((e) => (e.to ? [e.to] : []))).toEqual([
      'idle-up',
      'lowering',
      'held-down',
      'warning',
      'raising',
      'idle-up',
    ]);
    expect(await lane.controller.runTest({ signal: abort.signal })).toEqual({ ok: false, reason: 'interrupted' });
  });

  test('stop parks the bollard in the fail state: fail-open lowers it, fail-secure raises it when clear', async () => {
    const open = await bollardLab({ timing, failMode: 'fail-open' });
    const stopped = open.lane.stop();
    for (let i = 0; i < 10; i++) {
      open.clock.advance(1000);
      await Promise.resolve();
    }
    await stopped;
    expect(open.sim.readOutputs()).toMatchObject({ lower: true, raise: false });
    expect(open.sim.height()).toBe(0);

    const secure = await bollardLab({ timing }, { initialHeight: 0 });
    const stopping = secure.lane.stop();
    for (let i = 0; i < 12; i++) {
      secure.clock.advance(1000);
      await Promise.resolve();
    }
    await stopping;
    expect(secure.sim.readOutputs()).toMatchObject({ lower: false, raise: true });
    expect(secure.sim.height()).toBe(1);
    expect(secure.lane.controller.state).toBe('stopped');
  });

  test('fail-open: a bollard held down by the emergency input is parked (down, lower held), not a failure to park', async () => {
    const { sim, lane, clock } = await bollardLab({ timing, failMode: 'fail-open' });
    sim.setEmergency(true);
    clock.advance(3100);
    expect(sim.read().positionDown).toBe(true);
    const parking = lane.controller.park(10_000);
    for (let i = 0; i < 12; i++) {
      clock.advance(1000);
      await Promise.resolve();
    }
    expect(await parking).toEqual({ reached: true, target: 'down', state: 'emergency-down' });
    expect(sim.readOutputs()).toMatchObject({ lower: true, raise: false });
  });

  test('open-pulse: one pulse opens, the open input is held while a vehicle is on the loop', async () => {
    const { lane, sim, clock } = await bollardLab({ timing, mode: 'open-pulse' });
    clock.advance(5000);
    sim.vehicleArrives();
    lane.controller.requestOpen('p1');
    expect(sim.readOutputs()).toMatchObject({ openRequest: true, lower: false, raise: false });
    clock.advance(500);
    expect(sim.readOutputs().openRequest).toBe(false);
    clock.advance(3000);
    expect(lane.controller.state).toBe('held-down');
    clock.advance(700);
    expect(sim.read().loops[0]).toBe(true);
    expect(sim.readOutputs().openRequest).toBe(true);
    clock.advance(30_000);
    expect(lane.controller.state).toBe('idle-up');
    expect(sim.stats).toMatchObject({ passed: 1, impacts: 0 });
  });
});
