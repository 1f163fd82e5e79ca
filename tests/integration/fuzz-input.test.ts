import { connect } from 'node:net';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { sourceSchema } from '../../src/config/schema.js';
import { systemClock } from '../../src/shared/clock.js';
import { silentLogger } from '../../src/shared/log.js';
import { BUILTIN_DIALECT_DIR, DialectCatalog } from '../../src/sources/dialect/catalog.js';
import { createSource } from '../../src/sources/index.js';
import type { PlateRead, ReadRejection, SourceSink, SourceState } from '../../src/sources/plate-read.js';
import { freePort } from '../helpers/mosquitto.js';
import { chunked, fuzzStream, type FuzzStream } from '../helpers/fuzz-stream.js';
import { startPtyPair } from '../helpers/pty.js';
import { countingAsTheGateway, openSerialWriter } from '../helpers/source-sink.js';

const dialects = new DialectCatalog([BUILTIN_DIALECT_DIR]);
/** At least 10 MB through each path; the long soak pushes 50 MB. */
const BYTES = process.env['ZONEGATE_SOAK'] === 'long' ? 50_000_000 : 10_500_000;

/** Keeps only what the test compares: reads in order and rejections counted by reason. */
class CountingSink implements SourceSink {
  reads: { text: string; confidence: number }[] = [];
  byReason: Record<string, number> = {};
  states: SourceState[] = [];
  #wake: (() => void) | undefined;
  read(r: PlateRead): void {
    this.reads.push({ text: r.text, confidence: r.confidence });
    this.#wake?.();
  }
  reject(r: ReadRejection): void {
    this.byReason[r.reason] = (this.byReason[r.reason] ?? 0) + 1;
    if (r.sample !== undefined && r.sample.length > 80) throw new Error(`sample longer than 80: ${r.sample}`);
  }
  status(_id: string, state: SourceState): void {
    this.states.push(state);
    this.#wake?.();
  }
  until(cond: () => boolean, what: string, timeoutMs = 90_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`timed out waiting for ${what}: ${this.reads.length} reads`)),
        timeoutMs,
      );
      this.#wake = () => {
        if (cond()) {
          clearTimeout(timer);
          this.#wake = undefined;
          resolve();
        }
      };
      this.#wake();
    });
  }
}

/** Peak resident memory while `run` runs, sampled every 20 ms. */
async function peakRss<T>(run: () => Promise<T>): Promise<{ result: T; peakMb: number; baseMb: number }> {
  const baseMb = process.memoryUsage().rss / 2 ** 20;
  let peak = baseMb;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss / 2 ** 20)), 20);
  try {
    const result = await run();
    return { result, peakMb: Math.max(peak, process.memoryUsage().rss / 2 ** 20), baseMb };
  } finally {
    clearInterval(sampler);
  }
}

function report(
  path: string,
  stream: FuzzStream,
  sink: CountingSink,
  highWater: number,
  mem: { peakMb: number; baseMb: number },
  ms: number,
): void {
  console.log(
    `fuzz ${path}: ${(stream.bytes / 1e6).toFixed(1)} MB in ${(ms / 1000).toFixed(1)} s, segments ${JSON.stringify(stream.kinds)}, ` +
      `valid frames ${stream.expected.length}, decoded ${sink.reads.length}, rejections ${JSON.stringify(sink.byReason)}, ` +
      `buffer high water ${highWater} B, RSS ${mem.baseMb.toFixed(0)} → peak ${mem.peakMb.toFixed(0)} MB`,
  );
}

/** Refused input as the gateway counts it (see countingAsTheGateway), by reason. */
async function counted(registry: Registry): Promise<Record<string, number>> {
  const m = await registry.getSingleMetric('zonegate_input_rejected_total')!.get();
  return Object.fromEntries(m.values.map((v) => [String(v.labels['reason']), v.value]));
}

async function highWater(registry: Registry): Promise<number> {
  const m = await registry.getSingleMetric('zonegate_source_buffer_high_water_bytes')!.get();
  return Math.max(...m.values.map((v) => v.value));
}

describe('hostile input through real devices', () => {
  const cleanup: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c();
  });

  it('10 MB of noise, truncated, corrupted and valid zg1 lines through a pseudo-terminal: every valid line read, memory bounded, refusals counted', async () => {
    const codec = dialects.codec('zg1');
    const stream = fuzzStream(codec, BYTES, 20260105);
    const pty = await startPtyPair();
    cleanup.push(() => pty.dispose());
    const sink = new CountingSink();
    const registry = new Registry();
    const counting = countingAsTheGateway(sink, registry);
    cleanup.push(() => counting.close());
    const source = createSource(
      sourceSchema.parse({ id: 'fuzz-serial', kind: 'serial', lane: 'in-1', device: pty.b, baudRate: 115200 }),
      { sink: counting, clock: systemClock, log: silentLogger, registry, dialects },
    );
    cleanup.push(() => source.stop());
    await source.start();
    await sink.until(() => sink.states.includes('connected'), 'the port');
    const writer = await openSerialWriter(pty.a, 115200);
    cleanup.push(() => writer.close());
    const t0 = Date.now();
    const mem = await peakRss(async () => {
      for (const chunk of chunked(stream.segments, 1, 64 * 1024)) await writer.write(chunk);
      await sink.until(() => sink.reads.length >= stream.expected.length, 'every valid line');
    });
    const hw = await highWater(registry);
    report('pty', stream, sink, hw, mem, Date.now() - t0);
    expect(stream.bytes).toBeGreaterThanOrEqual(10_000_000);
    expect(sink.reads).toEqual(stream.expected);
    expect(source.status().state).toBe('connected');
    expect(hw).toBeLessThanOrEqual(codec.profile.framing.maxFrameBytes + 1);
    expect(mem.peakMb - mem.baseMb).toBeLessThan(200);
    for (const reason of ['garbage', 'line-too-long', 'truncated-frame', 'bad-checksum'])
      expect(sink.byReason[reason]).toBeGreaterThan(0);
    expect(await counted(registry)).toEqual(sink.byReason);
  });

  it('10 MB of the same through a TCP connection in the length-prefixed binary dialect: every valid frame read, memory bounded', async () => {
    const codec = dialects.codec('sync-lp-crc32');
    const stream = fuzzStream(codec, BYTES, 7);
    const port = await freePort();
    const sink = new CountingSink();
    const registry = new Registry();
    const counting = countingAsTheGateway(sink, registry);
    cleanup.push(() => counting.close());
    const source = createSource(
      sourceSchema.parse({
        id: 'fuzz-tcp',
        kind: 'tcp-server',
        lane: 'in-1',
        host: '127.0.0.1',
        port,
        dialect: 'sync-lp-crc32',
      }),
      { sink: counting, clock: systemClock, log: silentLogger, registry, dialects },
    );
    cleanup.push(() => source.stop());
    await source.start();
    const camera = connect(port, '127.0.0.1');
    cleanup.push(() => void camera.destroy());
    await new Promise<void>((resolve) => camera.once('connect', resolve));
    const t0 = Date.now();
    const mem = await peakRss(async () => {
      for (const chunk of chunked(stream.segments, 2, 64 * 1024))
        if (!camera.write(chunk)) await new Promise((resolve) => camera.once('drain', resolve));
      // Closing gives up a bogus length still waiting for bytes, so frames it swallowed are found.
      camera.end();
      await sink.until(
        () => sink.reads.length >= stream.expected.length && sink.states.includes('disconnected'),
        'every valid frame',
      );
    });
    const hw = await highWater(registry);
    report('tcp', stream, sink, hw, mem, Date.now() - t0);
    expect(stream.bytes).toBeGreaterThanOrEqual(10_000_000);
    expect(sink.reads).toEqual(stream.expected);
    // magic + length + payload + CRC: the most a length-prefixed frame can hold.
    expect(hw).toBeLessThanOrEqual(2 + 2 + codec.profile.framing.maxFrameBytes + 4);
    expect(mem.peakMb - mem.baseMb).toBeLessThan(200);
    for (const reason of ['garbage', 'bad-checksum', 'bad-framing']) expect(sink.byReason[reason]).toBeGreaterThan(0);
    expect(await counted(registry)).toEqual(sink.byReason);
  });
});
