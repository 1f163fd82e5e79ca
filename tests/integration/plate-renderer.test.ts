import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { sidecodeOf } from '../../src/plate/sidecodes.js';

/**
 * The synthetic plate renderer (scripts/vision/render_plates.py, Debian's python3-pil and
 * python3-numpy) that the reader is trained and scored on. Its crops must stay readable: a crop
 * whose degradations wiped out a character is drawn again, so that the held-out score measures
 * the reader and not the renderer.
 */
const visionDir = fileURLToPath(new URL('../../scripts/vision', import.meta.url));

function python(code: string): unknown {
  const r = spawnSync('/usr/bin/python3', ['-c', code], { cwd: visionDir, encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`python3 failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as unknown;
}

describe('plate renderer', () => {
  it('scores a character by its contrast against the field around it', () => {
    const scores = python(`
import json, numpy as np, render_plates as rp
chars = np.zeros((32, 128), np.uint8)
chars[8:24, 10:13] = 1            # a vertical stroke in a 10-wide box
chars[8:24, 17:20] = 1
chars[8:24, 40:43] = 2
chars[21:24, 40:50] = 2         # an L: stroke and field in its box
grey = np.full((32, 128), 200, np.uint8)
grey[chars > 0] = 30               # dark characters on a bright field
clear = rp.legibility(grey, chars)
gone = grey.copy(); gone[chars == 2] = 200   # the second character wiped out (glare, occluder)
faint = grey.copy(); faint[chars > 0] = 199  # both one grey level darker than the field
print(json.dumps({"clear": clear, "gone": rp.legibility(gone, chars), "faint": rp.legibility(faint, chars),
                  "min": rp.MIN_LEGIBILITY}))
`) as { clear: number; gone: number; faint: number; min: number };
    expect(scores.clear).toBeGreaterThan(10);
    expect(scores.gone).toBe(0);
    expect(scores.faint).toBeLessThan(scores.min);
  });

  it('renders labelled crops of valid sidecodes and draws an illegible one again', () => {
    const out = python(`
import json, render_plates as rp
draws = []
draw = rp.attempt
def watched(rng, negative, focus):
    grey, label, legible = draw(rng, negative, focus)
    draws.append({"label": label, "legible": legible})
    return grey, label, legible
rp.attempt = watched
imgs, labels = rp.render_set(300, 4242, 1, 0.0)
print(json.dumps({"draws": draws, "labels": labels, "shape": list(imgs.shape), "min": rp.MIN_LEGIBILITY}))
`) as { draws: { label: string; legible: number }[]; labels: string[]; shape: number[]; min: number };
    expect(out.shape).toEqual([300, 32, 128]);
    for (const label of out.labels) expect(sidecodeOf(label.replaceAll('-', '')), label).toBeDefined();
    const kept = out.draws.filter((d) => d.legible >= out.min);
    const redrawn = out.draws.filter((d) => d.legible < out.min);
    // About 1 % of draws lose a character; each is replaced by the next draw.
    expect(redrawn.length).toBeGreaterThan(0);
    expect(redrawn.length).toBeLessThan(15);
    expect(kept.map((d) => d.label)).toEqual(out.labels);
  });
});
