import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/shared/clock.js';
import { readCapture } from '../../src/sources/capture.js';
import { BUILTIN_DIALECT_DIR, DialectCatalog } from '../../src/sources/dialect/catalog.js';
import { REJECTION_REASONS } from '../../src/sources/dialect/codec.js';
import { captureStartTime, replayCapture } from '../../src/sources/replay.js';
import { CollectingSink } from '../helpers/source-sink.js';
import { repoRoot } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

const dialects = new DialectCatalog([BUILTIN_DIALECT_DIR]);
const dir = join(repoRoot, 'tests/fixtures/captures');
const fixtures = readdirSync(dir).filter((f) => f.endsWith('.zgcap'));

interface Expected {
  dialect: string;
  reads: string[];
  corruptedLines: number;
  heartbeats: number;
  cameraClockSkewMs: number;
}

describe('replaying recorded captures', () => {
  it('there is a recorded capture for every shipped dialect', () => {
    expect(fixtures.map((f) => f.replace('.zgcap', '')).sort()).toEqual(dialects.names());
  });

  it.each(fixtures)('%s replays to the reads the camera sent, in capture time, broken lines refused', async (file) => {
    const path = join(dir, file);
    const expected = JSON.parse(readFileSync(path.replace('.zgcap', '.expected.json'), 'utf8')) as Expected;
    const start = await captureStartTime(path);
    const clock = new ManualClock(start!);
    const sink = new CollectingSink();
    const stats = await replayCapture(path, { sourceId: 'cam-1', lane: 'in-1', sink, clock, dialects });
    expect(stats).toMatchObject({ format: 'capture', dialect: expected.dialect, timing: 'capture', timeShiftMs: 0 });
    expect(sink.reads.map((r) => r.text)).toEqual(expected.reads);
    expect(stats.heartbeats).toBe(expected.heartbeats);
    expect(sink.rejections.length).toBeGreaterThanOrEqual(expected.corruptedLines);
    for (const r of sink.rejections) expect(REJECTION_REASONS).toContain(r.reason);
    // Each read arrives at the time the capture recorded, on the replay clock.
    const { records, close } = await readCapture(path);
    const dataTimes: number[] = [];
    for await (const rec of records) if (rec.type === 'data') dataTimes.push(rec.at);
    close();
    for (const r of sink.reads) expect(dataTimes).toContain(r.receivedAt);
    expect(sink.reads.map((r) => r.receivedAt)).toEqual([...sink.reads.map((r) => r.receivedAt)].sort((a, b) => a - b));
    const countries = new Set(sink.reads.map((r) => r.country));
    expect(countries).toEqual(new Set(['NL', 'DE', 'GB']));
    if (expected.cameraClockSkewMs > 0) {
      expect(sink.faults[0]).toMatchObject({ code: 'clock-skew', sourceId: 'cam-1' });
      expect(Math.abs(sink.faults[0]!.skewMs! - expected.cameraClockSkewMs)).toBeLessThan(2_000);
    } else expect(sink.faults).toEqual([]);
  });

  it.each(dialects.names())('a plain file of %s frames replays, each read at its camera time', async (dialect) => {
    const codec = dialects.codec(dialect);
    const t0 = Date.UTC(2026, 0, 5, 9, 0, 0);
    const tmp = tempDir('zg-replay-');
    try {
      const file = join(tmp.path, `${dialect}.bin`);
      const frames = ['96LKH9', '12ABC3', 'XZ99BB'].map((text, i) =>
        codec.encode({ text, confidence: 900, cameraTime: t0 + i * 5_000, cameraLane: '1' }),
      );
      writeFileSync(file, Buffer.concat([frames[0]!, Buffer.from('\x00noise\xff', 'latin1'), frames[1]!, frames[2]!]));
      const clock = new ManualClock((await captureStartTime(file, { dialect, dialects }))!);
      const sink = new CollectingSink();
      const stats = await replayCapture(file, { sourceId: 'cam-1', lane: 'in-1', dialect, sink, clock, dialects });
      expect(stats).toMatchObject({ format: 'plain', timing: 'camera', reads: 3 });
      expect(sink.reads.map((r) => [r.text, r.receivedAt - t0])).toEqual([
        ['96LKH9', 0],
        ['12ABC3', 5_000],
        ['XZ99BB', 10_000],
      ]);
      expect(clock.now()).toBe(t0 + 10_000);
      expect(sink.rejections.map((r) => r.reason)).toContain('garbage');
    } finally {
      tmp.remove();
    }
  });

  it('a damaged line in a capture file is refused with its line number and the rest still replays', async () => {
    const tmp = tempDir('zg-replay-');
    try {
      const lines = readFileSync(join(dir, 'zg1.zgcap'), 'utf8').split('\n');
      lines.splice(3, 0, '12.5 "bad \\q escape"', 'garbage line');
      const file = join(tmp.path, 'damaged.zgcap');
      writeFileSync(file, lines.join('\n'));
      const sink = new CollectingSink();
      const stats = await replayCapture(file, { sourceId: 'cam-1', lane: 'in-1', sink, dialects });
      expect(stats.badRecords).toBe(2);
      const bad = sink.rejectedBy('bad-capture-record');
      expect(bad.map((r) => r.detail)).toEqual([
        `${file}, line 4: the quoted part is not a JSON string`,
        `${file}, line 5: not "<ms> \\"bytes\\"" nor "<ms> !event \\"detail\\""`,
      ]);
      expect(sink.reads.length).toBe(10);
    } finally {
      tmp.remove();
    }
  });

  it('a file that claims to be a capture but has a broken header is refused naming the line', async () => {
    const tmp = tempDir('zg-replay-');
    try {
      const file = join(tmp.path, 'broken.zgcap');
      writeFileSync(file, '#zonegate-capture v1 {"source":"/dev/ttyUSB0"}\n0.000 "x"\n');
      await expect(
        replayCapture(file, { sourceId: 'c', lane: 'l', dialect: 'zg1', sink: new CollectingSink(), dialects }),
      ).rejects.toThrow(/broken\.zgcap, line 1: header: startedAt: /);
    } finally {
      tmp.remove();
    }
  });
});
