import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { haveRealClips, realClipsDir } from '../helpers/rtsp-server.js';
import { tempDir } from '../helpers/tmp.js';

describe.runIf(haveRealClips)('zonegate recognize', () => {
  const tmp = tempDir('zg-recognize-');
  const frame = join(tmp.path, 'frame.png');
  const notAnImage = join(tmp.path, 'photo.jpg');

  beforeAll(() => {
    // A frame cut from a real clip at test time, as a technician would save one from a camera.
    const r = spawnSync('ffmpeg', [
      '-loglevel',
      'error',
      '-y',
      '-i',
      join(realClipsDir, 'Video171_2.avi'),
      '-vf',
      'select=eq(n\\,10)',
      '-frames:v',
      '1',
      frame,
    ]);
    expect(r.status).toBe(0);
    writeFileSync(notAnImage, 'this is a text file with a .jpg name\n');
  });
  afterAll(() => tmp.remove());

  it('prints the plate of an image as JSON: text, country, confidences and box', async () => {
    const r = await runCli(['recognize', '--json', frame]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const out = JSON.parse(lines[0]!) as {
      file: string;
      frames: number;
      plates: {
        text: string;
        display: string;
        country: string;
        confidence: number;
        charConfidences: number[];
        box: { x: number; y: number; w: number; h: number };
      }[];
    };
    expect(out.file).toBe(frame);
    expect(out.frames).toBe(1);
    expect(out.plates).toHaveLength(1);
    const p = out.plates[0]!;
    expect(p).toMatchObject({ text: '96LKH9', display: '96-LKH-9', country: 'NL' });
    expect(p.charConfidences).toHaveLength(6);
    expect(p.confidence).toBeGreaterThan(500);
    expect(p.box.w).toBeGreaterThan(200);
    expect(p.box.x + p.box.w).toBeLessThanOrEqual(640);
    expect(p.box.y + p.box.h).toBeLessThanOrEqual(480);
  });

  it('names an input that is not an image, counts it, reads the others and exits 2', async () => {
    const r = await runCli(['recognize', '--json', notAnImage, frame]);
    expect(r.code).toBe(2);
    const lines = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines[0]).toMatchObject({ file: notAnImage, error: { reason: 'not-an-image' } });
    expect((lines[1] as { plates: { text: string }[] }).plates[0]!.text).toBe('96LKH9');
    expect(r.stderr).toContain(`${notAnImage}: not a readable image or video`);
    expect(r.stderr).toContain('1 of 2 inputs unreadable (not-an-image: 1)');
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});
