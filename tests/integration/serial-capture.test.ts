import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock, systemClock } from '../../src/shared/clock.js';
import { silentLogger } from '../../src/shared/log.js';
import { BUILTIN_DIALECT_DIR, DialectCatalog } from '../../src/sources/dialect/catalog.js';
import { captureStartTime, replayCapture } from '../../src/sources/replay.js';
import { SimulatedCamera } from '../../src/sources/simulated-camera.js';
import { runCli, spawnCli } from '../helpers/cli.js';
import { startPtyPair, type PtyHelper } from '../helpers/pty.js';
import { CollectingSink } from '../helpers/source-sink.js';
import { tempDir } from '../helpers/tmp.js';

const dialects = new DialectCatalog([BUILTIN_DIALECT_DIR]);

describe('zonegate capture', () => {
  const cleanup: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c();
  });

  function camera(pty: PtyHelper, plates: string[]): SimulatedCamera {
    return new SimulatedCamera({
      device: pty.a,
      baudRate: 9600,
      codec: dialects.codec('zg1'),
      lane: 'in-1',
      plates,
      intervalMs: 200,
      readsPerVehicle: 2,
      readGapMs: 50,
      corruptEvery: 4,
      heartbeatMs: 0,
      clock: systemClock,
      log: silentLogger,
    });
  }

  it('records raw bytes with arrival times across unplugging and re-plugging, and replay reads them back', async () => {
    const tmp = tempDir('zg-capture-');
    cleanup.push(() => tmp.remove());
    const out = join(tmp.path, 'field.zgcap');
    const pty = await startPtyPair();
    cleanup.push(() => pty.dispose());
    const child = spawnCli(['capture', pty.b, '--baud', '9600', '--dialect', 'zg1', '--out', out]);
    let stderr = '';
    const waitFor = async (re: RegExp, count = 1): Promise<void> => {
      const deadline = Date.now() + 20_000;
      while ((stderr.match(new RegExp(re.source, `${re.flags}g`)) ?? []).length < count) {
        if (Date.now() > deadline || child.exitCode !== null) throw new Error(`no ${re} in: ${stderr}`);
        await new Promise((r) => setTimeout(r, 25));
      }
    };
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
    cleanup.push(() => void child.kill('SIGKILL'));
    await waitFor(/recording /);

    let cam = camera(pty, ['96-LKH-9']);
    await cam.start();
    await waitFor(/^read 96LKH9/m, 4);
    await cam.stop();
    await pty.unplug();
    await waitFor(/still recording, waiting for it to come back/);
    await pty.replug();
    await waitFor(/recording /, 2);
    cam = camera(pty, ['DE:B-AB-1234']);
    await cam.start();
    await waitFor(/^read BAB1234/m, 4);
    await cam.stop();
    child.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(stderr).toMatch(
      /^stopped: \d+ bytes in \d+ chunks over \d+\.\d s to .*field\.zgcap; \d+ reads, \d+ refused$/m,
    );
    const liveReads = (stderr.match(/^read /gm) ?? []).length;
    const liveRefused = (stderr.match(/^refused /gm) ?? []).length;
    expect(liveRefused).toBeGreaterThan(0);

    const text = readFileSync(out, 'utf8');
    const [header, ...records] = text.trimEnd().split('\n');
    expect(header).toMatch(
      /^#zonegate-capture v1 \{"source":".*\/B","baudRate":9600,"dialect":"zg1","startedAt":"20\d\d-/,
    );
    expect(records.filter((l) => / !opened "/.test(l))).toHaveLength(2);
    expect(records.filter((l) => / !closed "/.test(l)).map((l) => l.replace(/^[\d.]+ /, ''))).toEqual([
      expect.stringMatching(/^!closed ".*\/B disappeared/),
      expect.stringMatching(/^!closed "capture stopped/),
    ]);
    expect(records.some((l) => /^\d+\.\d{3} "\$ZG1,[^"]*96LKH9/.test(l))).toBe(true);

    // Replay sees exactly what the live decoder saw, at the recorded times.
    const sink = new CollectingSink();
    const clock = new ManualClock((await captureStartTime(out))!);
    const stats = await replayCapture(out, { sourceId: 'cam-1', lane: 'in-1', sink, clock, dialects });
    expect(stats).toMatchObject({ format: 'capture', dialect: 'zg1', timing: 'capture', events: 4 });
    expect(sink.reads).toHaveLength(liveReads);
    expect(sink.rejections).toHaveLength(liveRefused);
    expect(new Set(sink.reads.map((r) => r.text))).toEqual(new Set(['96LKH9', 'BAB1234']));
  });

  it('refuses to overwrite an earlier capture, a fractional --baud, and fails clearly on a device that is not there', async () => {
    const tmp = tempDir('zg-capture-');
    cleanup.push(() => tmp.remove());
    const pty = await startPtyPair();
    cleanup.push(() => pty.dispose());
    const existing = join(tmp.path, 'old.zgcap');
    writeFileSync(existing, 'keep me');
    const [overwrite, missing, fraction] = await Promise.all([
      runCli(['capture', pty.b, '--out', existing, '--seconds', '1']),
      runCli(['capture', '/dev/ttyZG-missing', '--out', join(tmp.path, 'new.zgcap')]),
      // A fractional speed would go into the header, which replay then could not read.
      runCli(['capture', pty.b, '--baud', '9600.5', '--out', join(tmp.path, 'fraction.zgcap'), '--seconds', '1']),
    ]);
    expect(overwrite.code).toBe(2);
    expect(overwrite.stderr).toBe(`zonegate: ${existing} exists; give another --out\n`);
    expect(readFileSync(existing, 'utf8')).toBe('keep me');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(
      /\/dev\/ttyZG-missing is not there \(unplugged, or a wrong name\); --wait waits for it/,
    );
    expect(existsSync(join(tmp.path, 'new.zgcap'))).toBe(false);
    expect(fraction.code).toBe(2);
    expect(fraction.stderr).toBe('zonegate: --baud: expected a positive whole number, got "9600.5"\n');
    expect(existsSync(join(tmp.path, 'fraction.zgcap'))).toBe(false);
  });
});
