import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sourceSchema } from '../../src/config/schema.js';
import { systemClock } from '../../src/shared/clock.js';
import { silentLogger } from '../../src/shared/log.js';
import { Registry } from '../../src/shared/metrics.js';
import type { PlateRead, ReadRejection, SourceSink } from '../../src/sources/plate-read.js';
import { createRtspSource, redactUrl, type RtspSource } from '../../src/vision/rtsp-source.js';
import { haveRealClips, realClipsDir, RtspServer } from '../helpers/rtsp-server.js';

/** Resolves when `cond` holds, checking on every event the source produces and on a short poll. */
async function until(cond: () => boolean, what: string, timeoutMs = 45_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe.runIf(haveRealClips)('an RTSP camera read by the gateway itself', () => {
  const reads: PlateRead[] = [];
  const rejections: ReadRejection[] = [];
  const states: string[] = [];
  const sink: SourceSink = {
    read: (r) => void reads.push(r),
    reject: (r) => void rejections.push(r),
    status: (_id, state) => void states.push(state),
  };
  const registry = new Registry();
  let server: RtspServer;
  let source: RtspSource;

  beforeAll(async () => {
    server = new RtspServer(join(realClipsDir, 'Video171_2.avi'));
    await server.start();
    const config = sourceSchema.parse({
      id: 'cam-west',
      kind: 'rtsp',
      lane: 'in-1',
      url: server.url,
      fps: 4,
      rtsp: { reconnectMinMs: 200, stallTimeoutMs: 3_000 },
      vision: { voteFrames: 3, trackLostMs: 1_000 },
    });
    source = createRtspSource(config, { sink, clock: systemClock, log: silentLogger, registry });
    await source.start();
  });

  afterAll(async () => {
    await source?.stop();
    await server?.remove();
  });

  it('delivers voted plate reads with per-character confidences into the pipeline', async () => {
    await until(() => reads.length > 0, 'a plate read');
    const read = reads[0]!;
    expect(read).toMatchObject({ sourceId: 'cam-west', lane: 'in-1', text: '96LKH9', country: 'NL' });
    expect(read.charConfidences).toHaveLength(6);
    for (const c of read.charConfidences!) expect(c >= 0 && c <= 1000).toBe(true);
    expect(read.confidence).toBeGreaterThan(500);
    expect(states).toContain('connected');
    const h = source.health();
    expect(h.state).toBe('streaming');
    expect(h.backend?.backend).toMatch(/^(wasm|tensorflow)$/);
    expect(h.frameSize).toEqual({ width: 640, height: 480 });
    expect(h.framesRead).toBeGreaterThanOrEqual(3);
  });

  it('shows the last frame with the plate box for the status page', async () => {
    await until(() => source.lastFrame()?.box !== undefined, 'a frame with a plate box');
    const f = source.lastFrame()!;
    expect(f.jpeg.subarray(0, 2)).toEqual(Buffer.from([0xff, 0xd8]));
    expect(f.plates[0]!.display).toBe('96-LKH-9');
    expect(f.box!.w).toBeGreaterThan(200);
    expect(f.box!.x + f.box!.w).toBeLessThanOrEqual(640);
  });

  it('reconnects after the camera server restarts and reads again', async () => {
    const before = reads.length;
    const reconnects = source.health().reconnects;
    await server.stop();
    await until(() => source.health().state === 'reconnecting', 'the source to notice the lost stream');
    expect(states).toContain('reconnecting');
    await server.start();
    await until(() => source.health().state === 'streaming' && reads.length > before, 'a read after the restart');
    expect(source.health().reconnects).toBeGreaterThan(reconnects);
    expect(reads.at(-1)!.text).toBe('96LKH9');
    const metrics = await registry.getSingleMetricAsString('zonegate_rtsp_reconnects_total');
    expect(metrics).toMatch(/source="cam-west"/);
  });

  it('never holds more than one frame back while the reader is busy', () => {
    const h = source.health();
    // Every frame that came in was read, dropped, failed, or is the one in flight/pending.
    expect(h.framesIn - h.framesRead - h.framesDropped - h.framesFailed).toBeLessThanOrEqual(2);
    expect(rejections).toEqual([]);
  });
});

describe('RTSP URLs in logs and status', () => {
  it('never show the camera password', () => {
    expect(redactUrl('rtsp://admin:s3cret@192.0.2.10:554/stream1')).toBe('rtsp://admin:***@192.0.2.10:554/stream1');
    expect(redactUrl('rtsp://192.0.2.10/stream1')).toBe('rtsp://192.0.2.10/stream1');
  });
});
