import { renameSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sourceSchema } from '../../src/config/schema.js';
import { silentLogger } from '../../src/shared/log.js';
import { systemClock } from '../../src/shared/clock.js';
import { BUILTIN_DIALECT_DIR, DialectCatalog } from '../../src/sources/dialect/catalog.js';
import { createSource, type CameraSource } from '../../src/sources/index.js';
import { startPtyPair, type PtyHelper } from '../helpers/pty.js';
import type { SourceSink } from '../../src/sources/plate-read.js';
import { CollectingSink, countingAsTheGateway, openSerialWriter } from '../helpers/source-sink.js';
import { tempDir } from '../helpers/tmp.js';

const dialects = new DialectCatalog([BUILTIN_DIALECT_DIR]);
const zg1 = dialects.codec('zg1');
const T0 = Date.UTC(2026, 0, 5, 9, 0, 0, 120);

function line(text: string, extra: Partial<Parameters<typeof zg1.encode>[0]> = {}): Buffer {
  return zg1.encode({ text, country: 'NL', confidence: 943, cameraTime: T0, cameraLane: '1', ...extra });
}

describe('serial camera on a real pseudo-terminal (zg1)', () => {
  let pty: PtyHelper;
  let source: CameraSource | undefined;
  let sink: CollectingSink;
  let counting: ReturnType<typeof countingAsTheGateway> | undefined;
  let registry: Registry;

  beforeEach(async () => {
    pty = await startPtyPair();
    sink = new CollectingSink();
    registry = new Registry();
  });

  afterEach(async () => {
    await source?.stop();
    source = undefined;
    counting?.close();
    counting = undefined;
    await pty.dispose();
  });

  async function startSource(device = pty.b, to: SourceSink = sink): Promise<void> {
    source = createSource(
      sourceSchema.parse({
        id: 'cam-1',
        kind: 'serial',
        lane: 'in-1',
        device,
        baudRate: 19200,
        reconnect: { initialMs: 50, maxMs: 200 },
      }),
      { sink: to, clock: systemClock, log: silentLogger, registry, dialects },
    );
    await source.start();
    await sink.waitFor(() => sink.statuses.some((s) => s.state === 'connected'), 'the port to open');
  }

  it('a zg1 line on the serial port becomes a plate read stamped with its arrival time', async () => {
    await startSource();
    const camera = await openSerialWriter(pty.a, 19200);
    const before = Date.now();
    const hrBefore = process.hrtime.bigint();
    await camera.write(
      line('96LKH9', { charConfidences: [970, 955, 901, 990, 920, 930], direction: 'in', imageRef: 'cam1/000123.jpg' }),
    );
    await sink.waitFor(() => sink.reads.length === 1, 'one read');
    await camera.close();
    const read = sink.reads[0]!;
    expect(read).toMatchObject({
      sourceId: 'cam-1',
      lane: 'in-1',
      text: '96LKH9',
      country: 'NL',
      confidence: 943,
      charConfidences: [970, 955, 901, 990, 920, 930],
      cameraTime: T0,
      direction: 'in',
      imageRef: 'cam1/000123.jpg',
    });
    expect(read.receivedAt).toBeGreaterThanOrEqual(before);
    expect(read.receivedAt).toBeLessThanOrEqual(Date.now());
    expect(read.arrivedHr).toBeGreaterThan(hrBefore);
    expect(read.arrivedHr).toBeLessThanOrEqual(process.hrtime.bigint());
    expect(sink.rejections).toEqual([]);
  });

  it('garbage, over-long lines and bad checksums are counted by reason and skipped, the lines around them still read', async () => {
    counting = countingAsTheGateway(sink, registry);
    await startSource(pty.b, counting);
    const camera = await openSerialWriter(pty.a, 19200);
    const good1 = line('96LKH9');
    const flipped = Buffer.from(line('12ABC3'));
    flipped[20] = flipped[20]! ^ 0x04;
    await camera.write(
      Buffer.concat([
        good1,
        Buffer.from('\x00\xff\x13garbage from a noisy RS-485 run\n', 'latin1'),
        Buffer.from(`$${'A'.repeat(400)}\n`),
        flipped,
        Buffer.from('$ZG1,2026-01-05T09:00:00.120Z,1,96LKH9,NL,943,,in,\n'),
        line('TOOLONGPLATE12345'),
        line('X1YZ99'),
      ]),
    );
    await sink.waitFor(() => sink.reads.length === 2 && sink.rejections.length >= 5, 'two reads and five rejections');
    await camera.close();
    expect(sink.reads.map((r) => r.text)).toEqual(['96LKH9', 'X1YZ99']);
    expect(sink.rejections.map((r) => r.reason)).toEqual([
      'garbage',
      'line-too-long',
      'bad-checksum',
      'missing-checksum',
      'bad-field',
    ]);
    const byReason = Object.fromEntries(sink.rejections.map((r) => [r.reason, r]));
    expect(byReason['garbage']!.detail).toMatch(/without the start "\$"/);
    expect(byReason['line-too-long']!.detail).toMatch(/line of 401 bytes, longer than the dialect's 256/);
    expect(byReason['bad-checksum']!.detail).toMatch(
      /^zg1: frame says [0-9A-F]{4}, computed [0-9A-F]{4} \(CRC-16\/CCITT-FALSE/,
    );
    expect(byReason['bad-field']!.detail).toMatch(/field "plate" \(plate\): more than 12 letters and digits/);
    expect(byReason['garbage']!.sample).toMatch(/^\\x00\\xff\\x13garbage/);
    for (const r of sink.rejections) expect(r.sample!.length).toBeLessThanOrEqual(80);
    const counted = await registry.getSingleMetric('zonegate_input_rejected_total')!.get();
    const count = (reason: string): number =>
      counted.values.find((v) => v.labels['reason'] === reason && v.labels['source'] === 'cam-1')?.value ?? 0;
    expect([count('garbage'), count('line-too-long'), count('bad-checksum'), count('missing-checksum')]).toEqual([
      1, 1, 1, 1,
    ]);
  });

  it('a half-sent line is given up as truncated when the line goes quiet, and the next line is read', async () => {
    await startSource();
    const camera = await openSerialWriter(pty.a, 19200);
    const whole = line('96LKH9');
    await camera.write(whole.subarray(0, 25));
    await sink.waitFor(() => sink.rejections.length === 1, 'the idle timeout to give up the half line');
    expect(sink.rejections[0]).toMatchObject({ reason: 'truncated-frame', sample: '$ZG1,2026-01-05T09:00:00.' });
    expect(sink.rejections[0]!.detail).toBe('zg1: 25 bytes without a line end before the input went quiet');
    await camera.write(line('12ABC3'));
    await sink.waitFor(() => sink.reads.length === 1, 'the next read');
    await camera.close();
    expect(sink.reads[0]!.text).toBe('12ABC3');
  });

  it('reading resumes after the device disappears and comes back, without restarting the gateway', async () => {
    await startSource();
    let camera = await openSerialWriter(pty.a, 19200);
    await camera.write(line('96LKH9'));
    await sink.waitFor(() => sink.reads.length === 1, 'the first read');
    await camera.close();
    // Unplug: socat closes both pty masters and removes the links.
    await pty.unplug();
    await sink.waitFor(() => sink.statuses.at(-1)?.state !== 'connected', 'the source to notice the device is gone');
    expect(source!.status().state).not.toBe('connected');
    await pty.replug();
    await sink.waitFor(
      () => sink.statuses.filter((s) => s.state === 'connected').length === 2,
      'the source to reopen the device',
    );
    camera = await openSerialWriter(pty.a, 19200);
    await camera.write(line('12ABC3'));
    await sink.waitFor(() => sink.reads.length === 2, 'a read after re-plugging');
    await camera.close();
    expect(sink.reads.map((r) => r.text)).toEqual(['96LKH9', '12ABC3']);
    const statuses = sink.statuses.map((s) => s.state);
    expect(statuses[0]).toBe('connected');
    expect(statuses).toContain('disconnected');
    expect(statuses.at(-1)).toBe('connected');
    const reconnects = await registry.getSingleMetric('zonegate_source_reconnects_total')!.get();
    expect(reconnects.values[0]?.value).toBe(1);
  });

  it('when the device name comes to lead to another device (an adapter swapped under its by-id link), the new one is opened', async () => {
    const other = await startPtyPair();
    const dir = tempDir('zg-by-id-');
    try {
      const link = join(dir.path, 'usb-camera');
      symlinkSync(pty.b, link);
      await startSource(link);
      const first = await openSerialWriter(pty.a, 19200);
      await first.write(line('96LKH9'));
      await sink.waitFor(() => sink.reads.length === 1, 'a read from the first adapter');
      await first.close();
      // Re-point the name atomically; the first adapter stays plugged in, so only the name changed.
      symlinkSync(other.b, `${link}.new`);
      renameSync(`${link}.new`, link);
      await sink.waitFor(
        () => sink.statuses.filter((st) => st.state === 'connected').length === 2,
        'the source to open the device the name now leads to',
      );
      expect(sink.statuses.some((st) => /now leads to another device/.test(st.detail ?? ''))).toBe(true);
      const second = await openSerialWriter(other.a, 19200);
      await second.write(line('12ABC3'));
      await sink.waitFor(() => sink.reads.length === 2, 'a read from the second adapter');
      await second.close();
      expect(sink.reads.map((r) => r.text)).toEqual(['96LKH9', '12ABC3']);
    } finally {
      await source?.stop();
      source = undefined;
      await other.dispose();
      dir.remove();
    }
  });
});
