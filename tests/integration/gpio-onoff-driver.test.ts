import { afterAll, describe, expect, test } from 'vitest';
import { chmodSync } from 'node:fs';
import type { BollardOutputs, BollardStatus } from '../../src/bollard/types.js';
import { LaneHost } from '../helpers/gpio-lane.js';
import { GpioTree } from '../helpers/gpio-tree.js';
import { tempDir } from '../helpers/tmp.js';

/**
 * The onoff driver, unchanged, in a child process whose /sys/class/gpio is a kernel-like GPIO
 * tree (FUSE, see gpio-tree.ts) shaped like a Raspberry Pi 4 on kernel 6.6+ (header chip at
 * base 512). Inputs are opto-isolated (active low), the relay board is active low too.
 */

const run = tempDir('zg-gpio-run-');
chmodSync(run.path, 0o777);
afterAll(() => run.remove());

const PINS = { lower: 17, raise: 27, positionDown: 5, positionUp: 6, loops: [13], lightRed: 22, lightGreen: 23 };
const bollard = {
  driver: 'gpio',
  activeLow: true,
  outputActiveLow: true,
  pins: PINS,
  timing: { travelMs: 3000, clearanceMs: 300, warningMs: 300, debounceMs: 30, scanMs: 20 },
};

/** Wire levels for a bollard at rest up, loop clear (active-low inputs: active = low). */
function bollardUp(tree: GpioTree): void {
  tree.setInput(tree.bcm(PINS.positionUp), false);
  tree.setInput(tree.bcm(PINS.positionDown), true);
  tree.setInput(tree.bcm(PINS.loops[0]!), true);
}

/** Physical level of an active-low output that is active. */
const active = (tree: GpioTree, bcm: number): boolean => tree.level(tree.bcm(bcm)) === false;

describe('onoff GPIO driver against the kernel-like tree', () => {
  const tree = new GpioTree();
  bollardUp(tree);

  test('pins map through the chip base; outputs export inactive; lower is on the pins when requestOpen returns; inputs arrive by interrupt (epoll); a crash leaves the levels', async () => {
    const HEARTBEAT = 24;
    const host = new LaneHost(tree, {
      laneId: 'in-1',
      bollard: {
        ...bollard,
        pins: { ...PINS, heartbeat: HEARTBEAT },
        timing: { ...bollard.timing, heartbeatMs: 100 },
      },
      gpio: { interrupts: true, scan: false },
      runDir: run.path,
    });
    try {
      const started = await host.started();
      expect(started.error).toBeUndefined();
      expect(started.status?.state).toBe('idle-up');
      const expected = [...Object.values(PINS).flat(), HEARTBEAT].map((bcm) => 512 + bcm).sort();
      expect(tree.exported().sort()).toEqual(expected);
      // Export put every output at its inactive level first (high, active low): no relay pulse.
      for (const bcm of [PINS.lower, PINS.raise, PINS.lightRed, PINS.lightGreen]) {
        const first = tree.writes.find((w) => w.gpio === tree.bcm(bcm))!;
        expect(first).toMatchObject({ via: 'direction', high: true });
      }
      expect(active(tree, PINS.raise)).toBe(true);
      expect(active(tree, PINS.lower)).toBe(false);

      const open = await host.call<{ accepted: boolean }>('open', { passageId: 'p1' });
      expect(open.accepted).toBe(true);
      expect(active(tree, PINS.lower)).toBe(true);
      expect(active(tree, PINS.raise)).toBe(false);

      // The limit switches report the movement: only epoll can deliver these (no scanning).
      tree.setInput(tree.bcm(PINS.positionUp), true);
      tree.setInput(tree.bcm(PINS.positionDown), false);
      await host.waitFor((m) => m.event?.to === 'held-down', 'held-down');
      expect(active(tree, PINS.lightGreen)).toBe(true);
      tree.setInput(tree.bcm(PINS.loops[0]!), false);
      await host.waitFor((m) => m.inputs?.loops[0] === true, 'loop occupied');
      const metrics =
        await host.call<{ name: string; values: { value: number; labels: Record<string, string> }[] }[]>('metrics');
      const samples = metrics.find((m) => m.name === 'zonegate_gpio_samples_total')!.values;
      expect(samples.find((v) => v.labels['via'] === 'interrupt')?.value).toBeGreaterThan(0);
      expect(samples.find((v) => v.labels['via'] === 'scan')).toBeUndefined();

      // The heartbeat toggles while the gateway is in control (for an external watchdog relay).
      const beats = (): number => tree.writes.filter((w) => w.gpio === tree.bcm(HEARTBEAT) && w.via === 'value').length;
      while (beats() < 3) await new Promise((r) => setTimeout(r, 50));

      // Crash: the process dies with the vehicle on the loop and the bollard held down.
      host.child.kill('SIGKILL');
      await host.close();
      const beatsAtDeath = beats();
      await new Promise((r) => setTimeout(r, 400));
      expect(beats()).toBe(beatsAtDeath);
      expect(tree.line(tree.bcm(PINS.lower)).exported).toBe(true);
      expect(active(tree, PINS.lower)).toBe(true);
      expect(active(tree, PINS.raise)).toBe(false);
    } finally {
      await host.close();
    }
  });

  test('a restart adopts the held-down bollard without releasing lower, rises only after the loop cleared, and stop parks it up', async () => {
    const lowerWritesBefore = tree.writes.filter((w) => w.gpio === tree.bcm(PINS.lower)).length;
    const host = new LaneHost(tree, {
      laneId: 'in-1',
      bollard,
      gpio: { interrupts: false, scan: true },
      runDir: run.path,
    });
    try {
      const started = await host.started();
      expect(started.status?.state).toBe('held-down');
      expect(started.status?.inputs.loops).toEqual([true]);
      // Re-opening the exported outputs changed nothing on the lower line.
      expect(tree.writes.filter((w) => w.gpio === tree.bcm(PINS.lower)).length).toBe(lowerWritesBefore);
      expect(active(tree, PINS.lower)).toBe(true);

      tree.setInput(tree.bcm(PINS.loops[0]!), true); // the vehicle drives off
      const raising = await host.waitFor((m) => m.event?.to === 'raising', 'raising');
      const cleared = host.messages.find((m) => m.inputs?.loops[0] === false)!;
      expect(cleared).toBeDefined();
      expect(active(tree, PINS.raise)).toBe(true);
      expect(active(tree, PINS.lower)).toBe(false);
      expect(raising.event!.reason).toBe('vehicle-passed');

      tree.setInput(tree.bcm(PINS.positionDown), true);
      tree.setInput(tree.bcm(PINS.positionUp), false);
      await host.waitFor((m) => m.event?.to === 'idle-up', 'idle-up');
      const metrics = await host.call<{ name: string; values: { labels: Record<string, string> }[] }[]>('metrics');
      const via = metrics.find((m) => m.name === 'zonegate_gpio_samples_total')!.values.map((v) => v.labels['via']);
      expect(via).toEqual(['scan']);

      await host.call('stop');
      await host.close();
      // Outputs stay exported at their level (raise held), inputs are released.
      expect(tree.line(tree.bcm(PINS.raise))).toMatchObject({ exported: true, direction: 'out' });
      expect(active(tree, PINS.raise)).toBe(true);
      expect(tree.line(tree.bcm(PINS.positionDown)).exported).toBe(false);
    } finally {
      await host.close();
    }
  });

  test('a debounced limit switch: a short bounce is not taken, a change that lasts is', async () => {
    const t2 = new GpioTree();
    bollardUp(t2);
    const host = new LaneHost(t2, {
      laneId: 'in-2',
      bollard: { ...bollard, timing: { ...bollard.timing, debounceMs: 400 } },
      gpio: { interrupts: true, scan: false },
      runDir: run.path,
    });
    try {
      expect((await host.started()).status?.state).toBe('idle-up');
      // The up switch chatters open and closed again within the debounce time.
      t2.setInput(t2.bcm(PINS.positionUp), true);
      await new Promise((r) => setTimeout(r, 50));
      t2.setInput(t2.bcm(PINS.positionUp), false);
      await new Promise((r) => setTimeout(r, 600));
      const status = await host.call<BollardStatus>('status');
      expect(status.state).toBe('idle-up');
      expect(host.messages.some((m) => m.inputs)).toBe(false);
      // A loop turning occupied is taken at once: it can only hold the bollard down.
      t2.setInput(t2.bcm(PINS.loops[0]!), false);
      await host.waitFor((m) => m.inputs?.loops[0] === true, 'loop occupied');
      expect((await host.call<BollardOutputs>('outputs')).raise).toBe(true);
      // The up switch opening for good is taken once it has lasted the debounce time.
      const t0 = Date.now();
      t2.setInput(t2.bcm(PINS.positionUp), true);
      await host.waitFor((m) => m.inputs?.positionUp === false, 'up switch open');
      expect(Date.now() - t0).toBeGreaterThanOrEqual(400);
      const fault = await host.waitFor((m) => m.event?.type === 'fault', 'fault');
      expect(fault.event).toMatchObject({ fault: 'position-lost', command: 'lower' });
    } finally {
      await host.close();
    }
  });

  test('a safety loop that can no longer be read counts as occupied: the bollard is not raised on its last level', async () => {
    const t3 = new GpioTree();
    t3.setInput(t3.bcm(PINS.positionDown), false); // down (active low)
    t3.setInput(t3.bcm(PINS.positionUp), true);
    t3.setInput(t3.bcm(PINS.loops[0]!), true); // clear
    const host = new LaneHost(t3, {
      laneId: 'in-8',
      bollard: { ...bollard, timing: { ...bollard.timing, clearanceMs: 10_000 } },
      gpio: { interrupts: false, scan: true },
      runDir: run.path,
    });
    try {
      const started = await host.started();
      expect(started.status).toMatchObject({ state: 'held-down', inputs: { loops: [false] } });
      // Something else unexports the loop's line under the gateway: its value file is gone.
      const loopLine = t3.bcm(PINS.loops[0]!);
      const unexport = t3.spawn('sh', ['-c', `echo ${loopLine} > /sys/class/gpio/unexport`]);
      expect(await new Promise((r) => unexport.once('close', r))).toBe(0);
      await host.waitFor((m) => m.inputs?.loops[0] === true, 'the unreadable loop taken as occupied');
      const status = await host.call<BollardStatus>('status');
      expect(status.state).toBe('held-down');
      expect(status.loopsClearSince).toBeUndefined();
      expect(host.events.some((e) => e.to === 'warning' || e.to === 'raising')).toBe(false);
      const metrics =
        await host.call<{ name: string; values: { value: number; labels: Record<string, string> }[] }[]>('metrics');
      const errors = metrics.find((m) => m.name === 'zonegate_gpio_errors_total')!.values;
      expect(errors.find((v) => v.labels['reason'] === 'io')?.value).toBeGreaterThan(0);
    } finally {
      await host.close();
    }
  });

  test('a heartbeat that can no longer be written is an io-error fault, journaled, with the outputs in the safe state', async () => {
    const t4 = new GpioTree();
    bollardUp(t4);
    const HEARTBEAT = 24;
    const host = new LaneHost(t4, {
      laneId: 'in-9',
      bollard: { ...bollard, pins: { ...PINS, heartbeat: HEARTBEAT }, timing: { ...bollard.timing, heartbeatMs: 100 } },
      gpio: { interrupts: false, scan: true },
      runDir: run.path,
    });
    try {
      expect((await host.started()).status?.state).toBe('idle-up');
      const unexport = t4.spawn('sh', ['-c', `echo ${t4.bcm(HEARTBEAT)} > /sys/class/gpio/unexport`]);
      expect(await new Promise((r) => unexport.once('close', r))).toBe(0);
      const fault = await host.waitFor((m) => m.event?.type === 'fault', 'io-error fault');
      expect(fault.event).toMatchObject({ fault: 'io-error', to: 'fault' });
      expect(fault.event!.detail).toMatch(/writing heartbeat \(BCM 24\) failed/);
      // Fail-secure and confirmed up: both motion outputs released, red.
      expect(active(t4, PINS.raise)).toBe(false);
      expect(active(t4, PINS.lower)).toBe(false);
      expect(active(t4, PINS.lightRed)).toBe(true);
      expect(await host.call('open', { passageId: 'p1' })).toMatchObject({ accepted: false, reason: 'fault' });
    } finally {
      await host.close();
    }
  });

  test('clear start-up errors: a pin claimed by a kernel driver, no GPIO interface, an unknown chip label', async () => {
    const claimed = new GpioTree({
      chips: [{ base: 512, ngpio: 58, label: 'pinctrl-bcm2711' }],
      claimed: [512 + PINS.loops[0]!],
    });
    const busy = new LaneHost(claimed, { laneId: 'in-3', bollard, runDir: run.path });
    const busyStart = await busy.started();
    await busy.close();
    expect(busyStart.error).toMatchObject({ name: 'GpioError', code: 'pin-busy' });
    expect(busyStart.error!.message).toMatch(/pin loop0 \(BCM 13, \/sys\/class\/gpio\/gpio525\) is busy/);
    // The outputs opened before the failure were closed but kept; no input stays exported.
    expect(claimed.exported().sort()).toEqual([512 + 17, 512 + 22, 512 + 23, 512 + 27]);

    const none = new LaneHost(new GpioTree(), { laneId: 'in-4', bollard, runDir: run.path }, { gpio: false });
    const noneStart = await none.started();
    await none.close();
    expect(noneStart.error).toMatchObject({ code: 'gpio-missing' });
    expect(noneStart.error!.message).toMatch(/no GPIO sysfs interface at \/sys\/class\/gpio/);

    const pi5 = new GpioTree({ chips: [{ base: 571, ngpio: 54, label: 'pinctrl-rp1' }] });
    const wrong = new LaneHost(pi5, {
      laneId: 'in-5',
      bollard: { ...bollard, chipLabel: 'pinctrl-bcm2711' },
      runDir: run.path,
    });
    const wrongStart = await wrong.started();
    await wrong.close();
    expect(wrongStart.error).toMatchObject({ code: 'chip-not-found' });
    expect(wrongStart.error!.message).toContain('gpiochip571 "pinctrl-rp1" (54 lines)');
  });

  test('a service user needs the udev rule: without it permission is refused with a hint, with group gpio it runs', async () => {
    const user = ['setpriv', '--reuid=65534', '--regid=65534', '--groups=997', '--'];
    const plain = new GpioTree();
    bollardUp(plain);
    const denied = new LaneHost(plain, { laneId: 'in-6', bollard, runDir: run.path }, { wrap: user });
    const deniedStart = await denied.started();
    await denied.close();
    expect(deniedStart.error).toMatchObject({ code: 'permission' });
    expect(deniedStart.error!.message).toMatch(/group "gpio".*99-zonegate-gpio\.rules/);

    // udev takes a while to hand a new line's files to the group (here longer than onoff's own
    // retry loop lasts, for the first line): the driver waits for it.
    const withRule = new GpioTree({
      chips: [{ base: 571, ngpio: 54, label: 'pinctrl-rp1' }],
      group: 997,
      udevDelayMs: 2500,
      udevSlowLines: [571 + PINS.lower],
    });
    bollardUp(withRule);
    const allowed = new LaneHost(withRule, { laneId: 'in-7', bollard, runDir: run.path }, { wrap: user });
    const allowedStart = await allowed.started();
    await allowed.close();
    expect(allowedStart.error).toBeUndefined();
    expect(allowedStart.status?.state).toBe('idle-up');
    // Pi 5: the header chip is RP1 at base 571.
    expect(withRule.line(571 + PINS.raise).exported).toBe(true);
  });
});
