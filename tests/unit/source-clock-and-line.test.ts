import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/shared/clock.js';
import { silentLogger } from '../../src/shared/log.js';
import { ClockSkewMonitor } from '../../src/sources/clock-skew.js';
import { BUILTIN_DIALECT_DIR, DialectCatalog } from '../../src/sources/dialect/catalog.js';
import { resampleUart } from '../../src/sources/line-speed.js';
import { Backoff, Reconnector } from '../../src/sources/links/types.js';
import { sourceMetrics } from '../../src/sources/metrics.js';
import type { SourceFault } from '../../src/sources/plate-read.js';
import { StreamDecoder } from '../../src/sources/stream-decoder.js';
import { CollectingSink } from '../helpers/source-sink.js';

const T = Date.UTC(2026, 0, 5, 9, 0, 0);

describe('camera clock against gateway clock', () => {
  it('a camera clock off by more than allowed is reported once, again after ten minutes, and when it is back', async () => {
    const faults: SourceFault[] = [];
    const registry = new Registry();
    const monitor = new ClockSkewMonitor({
      sourceId: 'cam-1',
      maxSkewMs: 5_000,
      metrics: sourceMetrics(registry),
      onFault: (f) => faults.push(f),
    });
    monitor.observe(T + 1_200, T); // within limits
    monitor.observe(T + 42_300, T + 1_000); // 41.3 s ahead
    monitor.observe(T + 43_300, T + 2_000); // still, not repeated
    monitor.observe(T + 642_300, T + 601_000 + 1_000); // ten minutes later: repeated
    monitor.observe(T + 700_000, T + 700_500); // back in line
    expect(faults.map((f) => [f.code, f.skewMs])).toEqual([
      ['clock-skew', 41_300],
      ['clock-skew', 40_300],
      ['clock-skew-cleared', -500],
    ]);
    expect(faults[0]!.detail).toBe(
      "camera cam-1 clock is 41.3 s ahead of the gateway's (allowed 5 s); reads keep the gateway's arrival time for decisions",
    );
    const exceeded = await registry.getSingleMetric('zonegate_camera_clock_skew_exceeded_total')!.get();
    expect(exceeded.values[0]!.value).toBe(3);
    const gauge = await registry.getSingleMetric('zonegate_camera_clock_skew_seconds')!.get();
    expect(gauge.values[0]!.value).toBe(-0.5);
  });

  it("a read keeps the gateway's arrival time for decisions whatever the camera's clock says", () => {
    const codec = new DialectCatalog([BUILTIN_DIALECT_DIR]).codec('zg1');
    const sink = new CollectingSink();
    const faults: SourceFault[] = [];
    const decoder = new StreamDecoder({
      codec,
      sourceId: 'cam-1',
      lane: 'in-1',
      sink,
      skew: new ClockSkewMonitor({ sourceId: 'cam-1', maxSkewMs: 5_000, onFault: (f) => faults.push(f) }),
    });
    const cameraTime = T - 3 * 3_600_000; // a camera still on a wrong time zone
    decoder.push(codec.encode({ text: '96LKH9', confidence: 900, cameraTime }), T, 7n);
    expect(sink.reads[0]).toMatchObject({ receivedAt: T, cameraTime, arrivedHr: 7n });
    expect(faults[0]!.detail).toMatch(/180\.0 min behind the gateway's/);
  });
});

describe('reconnecting', () => {
  it('retries back off by doubling up to the maximum and start again from the first after a success', () => {
    const b = new Backoff({ initialMs: 250, maxMs: 5_000 });
    expect([b.next(), b.next(), b.next(), b.next(), b.next(), b.next(), b.next()]).toEqual([
      250, 500, 1_000, 2_000, 4_000, 5_000, 5_000,
    ]);
    b.reset();
    expect(b.next()).toBe(250);
  });

  it('an outage is reported once however many attempts fail, and the link learns what it came back from', () => {
    const clock = new ManualClock(T);
    const reported: [string, number][] = [];
    const reconnector = new Reconnector({
      policy: { initialMs: 100, maxMs: 400 },
      clock,
      log: silentLogger,
      logContext: { device: '/dev/ttyUSB0' },
      events: { retrying: (detail, delayMs) => reported.push([detail, delayMs]) },
    });
    const attempts: number[] = [];
    const fail = (detail: string): void =>
      reconnector.retry(detail, () => {
        attempts.push(clock.now() - T);
      });
    fail('/dev/ttyUSB0 is not there');
    clock.advance(100);
    fail('/dev/ttyUSB0 is not there');
    clock.advance(200);
    fail('/dev/ttyUSB0 is in use by another program');
    clock.advance(400);
    expect(attempts).toEqual([100, 300, 700]);
    expect(reported).toEqual([
      ['/dev/ttyUSB0 is not there', 100],
      ['/dev/ttyUSB0 is in use by another program', 400],
    ]);
    expect(reconnector.succeeded()).toBe('/dev/ttyUSB0 is in use by another program');
    expect(reconnector.succeeded()).toBeUndefined();
    // After a success the next outage is new: reported again, from the first delay.
    fail('/dev/ttyUSB0 is not there');
    reconnector.cancel();
    clock.advance(1_000);
    expect(attempts).toHaveLength(3);
    expect(reported.at(-1)).toEqual(['/dev/ttyUSB0 is not there', 100]);
  });
});

describe('line speed', () => {
  const codec = new DialectCatalog([BUILTIN_DIALECT_DIR]).codec('zg1');
  const line = codec.encode({ text: '96LKH9', confidence: 943, cameraTime: T, cameraLane: '1' });

  it('at the same baud rate a UART receives the bytes unchanged', () => {
    expect(resampleUart(line, 19200, 19200).equals(line)).toBe(true);
  });

  it.each([2400, 4800, 9600, 38400, 57600, 115200])(
    'at %i baud a 19200-baud camera comes through as noise no dialect decodes',
    (rx) => {
      const heard = resampleUart(Buffer.concat([line, line, line]), 19200, rx);
      expect(heard.length).toBeGreaterThan(0);
      const sink = new CollectingSink();
      const decoder = new StreamDecoder({ codec, sourceId: 'probe', lane: 'in-1', sink });
      decoder.push(heard, 0);
      decoder.flush('closed', 0);
      expect(sink.reads).toEqual([]);
      expect(heard.includes(line)).toBe(false);
    },
  );
});
