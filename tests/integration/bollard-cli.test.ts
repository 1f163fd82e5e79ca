import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { stringify } from 'yaml';
import { runCli, type CliResult } from '../helpers/cli.js';
import { cliInTree as inTree, spawnCliInTree, type TreeCli } from '../helpers/gpio-cli.js';
import { wireSimulator } from '../helpers/gpio-bollard.js';
import { LaneHost } from '../helpers/gpio-lane.js';
import { GpioTree } from '../helpers/gpio-tree.js';
import { tempDir } from '../helpers/tmp.js';

/**
 * `zonegate bollard …` as a technician runs it: against the simulator, and against a GPIO tree
 * with the bollard simulator wired to its pins (its limit switches and loops on the input
 * wires, its controller reading the output relays).
 */

const dir = tempDir('zg-bollard-cli-');
const runDir = join(dir.path, 'run');
afterAll(() => dir.remove());

const PINS = { lower: 17, raise: 27, positionDown: 5, positionUp: 6, loops: [13], lightRed: 22, lightGreen: 23 };
const timing = { travelMs: 1500, clearanceMs: 300, warningMs: 200, debounceMs: 10, scanMs: 10 };
const gpioBollard = { driver: 'gpio', activeLow: true, pins: PINS, timing, simulator: { travelMs: 600 } };
/** A slower bollard, so that a signal reliably lands in the middle of a movement. */
const slowGpioBollard = { ...gpioBollard, timing: { ...timing, travelMs: 4000 }, simulator: { travelMs: 1500 } };

function site(name: string, bollard: Record<string, unknown>): string {
  const file = join(dir.path, `${name}.yaml`);
  writeFileSync(
    file,
    stringify({
      gateway: { id: 'gw-test', site: 'Test entrance', municipality: '0363', zone: 'test-zone' },
      dataDir: join(dir.path, 'data'),
      lanes: [{ id: 'in-1', bollard }],
      sources: [{ id: 'cam-1', kind: 'simulated', lane: 'in-1', simulate: { plates: ['AB123C'] } }],
    }),
  );
  return file;
}

/** `zonegate ARGS…` in a child that sees `tree` as /sys/class/gpio, with this test's lane locks. */
const cliInTree = (tree: GpioTree, args: readonly string[]): Promise<CliResult> =>
  inTree(tree, args, { ZONEGATE_RUN_DIR: runDir });
const startInTree = (tree: GpioTree, args: readonly string[]): TreeCli =>
  spawnCliInTree(tree, args, { ZONEGATE_RUN_DIR: runDir });

describe('zonegate bollard', () => {
  test('test on the simulated bollard runs a supervised cycle and reports travel times', async () => {
    const file = site('sim', { driver: 'simulator', timing, simulator: { travelMs: 600 } });
    const r = await runCli(['bollard', 'test', 'in-1', '-c', file, '--json'], { env: { ZONEGATE_RUN_DIR: runDir } });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as { ok: boolean; downMs: number; upMs: number; travelLimitMs: number };
    expect(report).toMatchObject({ ok: true, travelLimitMs: 1500 });
    expect(report.downMs).toBeGreaterThanOrEqual(550);
    expect(report.upMs).toBeGreaterThanOrEqual(550);
  });

  test('a lane lock that cannot be taken is a message naming the directory and exit 1, no stack trace', async () => {
    const file = site('gpio-no-run-dir', gpioBollard);
    const blocker = join(dir.path, 'not-a-directory');
    writeFileSync(blocker, '');
    const r = await runCli(['bollard', 'test', 'in-1', '-c', file], {
      env: { ZONEGATE_RUN_DIR: join(blocker, 'run') },
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /^zonegate bollard: cannot create the lane lock directory \S+not-a-directory\/run \(ENOTDIR\)/,
    );
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  test('test on a GPIO bollard cycles the real pins, and refuses while a loop is occupied', async () => {
    const tree = new GpioTree();
    const file = site('gpio', gpioBollard);
    const { sim, stop } = await wireSimulator(tree, gpioBollard);
    try {
      const r = await cliInTree(tree, ['bollard', 'test', 'in-1', '-c', file]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/idle-up → lowering/);
      expect(r.stdout).toMatch(/test passed: down in \d+ ms, up in \d+ ms \(limit 1500 ms\)/);
      expect(tree.writes.some((w) => w.gpio === tree.bcm(PINS.lower) && w.high)).toBe(true);
      expect(sim.height()).toBe(1);

      sim.setLoopForced(0, true);
      const lowerActivations = (): number =>
        tree.writes.filter((w) => w.gpio === tree.bcm(PINS.lower) && w.high).length;
      const before = lowerActivations();
      const refused = await cliInTree(tree, ['bollard', 'test', 'in-1', '-c', file]);
      expect(refused.code).toBe(1);
      expect(refused.stdout).toContain('test FAILED: loop-occupied');
      expect(lowerActivations()).toBe(before);
    } finally {
      await stop();
    }
  });

  test('Ctrl-C during a test cycle stops it and parks the bollard up under the interlocks; a second signal during the park is refused; exit 1, interrupted', async () => {
    const tree = new GpioTree();
    const file = site('gpio-interrupt-test', slowGpioBollard);
    const { sim, stop } = await wireSimulator(tree, slowGpioBollard);
    try {
      const cli = startInTree(tree, ['bollard', 'test', 'in-1', '-c', file]);
      await cli.waitFor('stdout', /idle-up → lowering/);
      cli.child.kill('SIGINT');
      const atSignal = cli.output().stdout;
      // The park has begun (the lowering finishes, then clearance and warning before the rise).
      await cli.waitFor('stdout', /→ warning/);
      cli.child.kill('SIGTERM');
      const r = await cli.done;
      expect(atSignal).not.toMatch(/held-down/); // interrupted in the middle of the lowering
      expect(r.signal).toBeNull();
      expect(r.code).toBe(1);
      expect(r.stdout).toContain('test FAILED: interrupted');
      expect(r.stderr).toMatch(/SIGINT: stopping; parking in-1 up \(fail-secure\) under the interlocks/);
      expect(r.stderr).toMatch(/SIGTERM ignored: parking in-1 up \(fail-secure\), at most \d+ s/);
      expect(r.stderr).toMatch(/test interrupted by SIGINT; in-1 parked up \(fail-secure\)\n$/);
      // Down confirmed, then the clearance and the warning, then the rise: never a shortcut.
      expect(r.stdout).toMatch(/lowering → held-down[^]*held-down → warning[^]*warning → raising[^]*raising → idle-up/);
      expect(sim.height()).toBe(1);
      expect(sim.readOutputs()).toMatchObject({ raise: true, lower: false });
      expect(sim.stats).toMatchObject({ impacts: 0, unsafeRaiseRequests: 0 });
    } finally {
      await stop();
    }
  });

  test('hold: Ctrl-C ends the hold and parks; a second Ctrl-C while the bollard rises is refused, the rise completes; exit 1, interrupted', async () => {
    const tree = new GpioTree();
    const file = site('gpio-interrupt-hold', slowGpioBollard);
    const { sim, stop } = await wireSimulator(tree, slowGpioBollard);
    try {
      const cli = startInTree(tree, ['bollard', 'hold', 'in-1', 'down', '--for', '10m', '-c', file]);
      await cli.waitFor('stdout', /lowering → held-down/);
      expect(sim.read().positionDown).toBe(true);
      cli.child.kill('SIGINT');
      await cli.waitFor('stdout', /warning → raising/);
      cli.child.kill('SIGINT');
      const r = await cli.done;
      expect(r.signal).toBeNull();
      expect(r.code).toBe(1);
      expect(r.stdout).toContain('hold ended early; leaving the bollard in its fail-secure state');
      expect(r.stderr).toMatch(/SIGINT ignored: parking in-1 up \(fail-secure\), at most \d+ s/);
      expect(r.stderr).toMatch(/hold interrupted by SIGINT; in-1 parked up \(fail-secure\)\n$/);
      expect(sim.height()).toBe(1);
      expect(sim.readOutputs()).toMatchObject({ raise: true, lower: false });
      expect(sim.stats).toMatchObject({ impacts: 0, unsafeRaiseRequests: 0 });
    } finally {
      await stop();
    }
  });

  test('status reads the pins while the gateway runs; test refuses then; failsafe after a crash waits for the loop, then raises', async () => {
    const tree = new GpioTree();
    const file = site('gpio-live', gpioBollard);
    const { sim, stop } = await wireSimulator(tree, gpioBollard);
    const gateway = new LaneHost(tree, { laneId: 'in-1', bollard: gpioBollard, runDir });
    try {
      expect((await gateway.started()).status?.state).toBe('idle-up');

      const status = await cliInTree(tree, ['bollard', 'status', '-c', file, '--json']);
      expect(status.code).toBe(0);
      const lane = (JSON.parse(status.stdout) as { lanes: Record<string, unknown>[] }).lanes[0]!;
      expect(lane).toMatchObject({
        lane: 'in-1',
        controlledBy: gateway.child.pid,
        position: 'up',
        inputs: { positionUp: true, positionDown: false, loops: [false] },
        outputs: { raise: true, lower: false, lightRed: true },
        chip: { name: 'gpiochip512', base: 512 },
      });

      const busy = await cliInTree(tree, ['bollard', 'test', 'in-1', '-c', file]);
      expect(busy.code).toBe(1);
      expect(busy.stderr).toMatch(/lane in-1 is controlled by process \d+/);
      expect(busy.stderr).not.toMatch(/\n\s+at /); // no stack trace

      // The gateway opens for a vehicle and dies while the vehicle stands on the loop.
      await gateway.call('open', { passageId: 'p1' });
      await gateway.waitFor((m) => m.event?.to === 'held-down', 'held down');
      sim.setLoopForced(0, true);
      await gateway.waitFor((m) => m.inputs?.loops[0] === true, 'vehicle on the loop');
      gateway.child.kill('SIGKILL');
      await gateway.close();
      expect(sim.readOutputs()).toMatchObject({ lower: true, raise: false });

      const waiting = await cliInTree(tree, ['bollard', 'failsafe', '-c', file, '--max-wait', '1s']);
      expect(waiting.code).toBe(1);
      expect(waiting.stdout).toContain('lane in-1: NOT up');
      expect(sim.readOutputs()).toMatchObject({ lower: true, raise: false });
      expect(sim.height()).toBe(0);

      sim.setLoopForced(0, false);
      const raised = await cliInTree(tree, ['bollard', 'failsafe', '-c', file]);
      expect(raised.stdout).toContain('lane in-1: up (fail-secure)');
      expect(raised.code).toBe(0);
      expect(sim.height()).toBe(1);
      expect(sim.readOutputs()).toMatchObject({ raise: true, lower: false });
      expect(sim.stats).toMatchObject({ impacts: 0, unsafeRaiseRequests: 0 });
    } finally {
      await gateway.close();
      await stop();
    }
  });
});
