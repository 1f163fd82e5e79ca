import { describe, expect, it } from 'vitest';
import { homography, warpQuadToGrey } from '../../src/vision/image.js';
import { localisePlates } from '../../src/vision/localise.js';
import { frameWithPlate } from '../helpers/vision.js';

describe('finding where a plate is in a frame', () => {
  it('finds a yellow Dutch plate by its field and returns its box', () => {
    const f = frameWithPlate({ cx: 320, cy: 300, w: 180, deg: 0, field: [245, 195, 20], ink: [20, 20, 20] });
    const regions = localisePlates(f);
    const colour = regions.filter((r) => r.cue === 'colour');
    expect(colour).toHaveLength(1);
    const { box } = colour[0]!;
    expect(Math.abs(box.x + box.w / 2 - 320)).toBeLessThan(6);
    expect(Math.abs(box.y + box.h / 2 - 300)).toBeLessThan(6);
    expect(box.w).toBeGreaterThan(170);
    expect(box.w).toBeLessThan(200);
  });

  it('follows a tilted plate so that it is cut out level', () => {
    const f = frameWithPlate({ cx: 300, cy: 240, w: 200, deg: 10, field: [240, 200, 30], ink: [30, 30, 30] });
    const r = localisePlates(f).find((x) => x.cue === 'colour')!;
    const [tl, tr] = r.corners;
    const tilt = (Math.atan2(tr.y - tl.y, tr.x - tl.x) * 180) / Math.PI;
    expect(tilt).toBeGreaterThan(7);
    expect(tilt).toBeLessThan(13);
  });

  it('finds a black plate with white characters by its character texture', () => {
    const f = frameWithPlate({ cx: 330, cy: 200, w: 220, deg: 0, field: [25, 25, 25], ink: [230, 230, 230] });
    const regions = localisePlates(f);
    expect(regions.some((r) => r.cue === 'colour')).toBe(false);
    const t = regions.find((r) => r.cue === 'texture' && Math.abs(r.box.x + r.box.w / 2 - 330) < 25);
    expect(t).toBeDefined();
    expect(Math.abs(t!.box.y + t!.box.h / 2 - 200)).toBeLessThan(10);
  });

  it('finds a light-blue plate with black characters by its field', () => {
    const f = frameWithPlate({ cx: 300, cy: 260, w: 200, deg: 0, field: [120, 185, 235], ink: [20, 20, 20] });
    const colour = localisePlates(f).filter((r) => r.cue === 'colour');
    expect(colour).toHaveLength(1);
    const { box } = colour[0]!;
    expect(Math.abs(box.x + box.w / 2 - 300)).toBeLessThan(6);
    expect(Math.abs(box.y + box.h / 2 - 260)).toBeLessThan(6);
    expect(box.w).toBeGreaterThan(190);
  });

  it('does not take a light-blue field without characters for a plate', () => {
    const f = frameWithPlate({ cx: 300, cy: 260, w: 200, deg: 0, field: [120, 185, 235], ink: [120, 185, 235] });
    expect(localisePlates(f).filter((r) => r.cue === 'colour')).toEqual([]);
  });

  it('takes the large characters of a black plate close to the camera as one line', () => {
    const f = frameWithPlate({ cx: 320, cy: 240, w: 440, deg: 3, field: [20, 20, 20], ink: [235, 235, 235] });
    const t = localisePlates(f).filter((r) => r.cue === 'texture');
    expect(t.length).toBeGreaterThan(0);
    // The characters span 6/8 of the plate; the cut-out takes them all, with a margin.
    const widest = t.reduce((a, b) => (b.box.w > a.box.w ? b : a));
    expect(widest.box.w).toBeGreaterThan(0.75 * 440);
    expect(widest.box.w).toBeLessThan(1.1 * 440);
    expect(Math.abs(widest.box.x + widest.box.w / 2 - 320)).toBeLessThan(20);
  });

  it('cuts out a plate seen from the side along its slanted edges', () => {
    const f = frameWithPlate({
      cx: 320,
      cy: 260,
      w: 200,
      deg: 0,
      shear: 0.35,
      field: [240, 200, 30],
      ink: [30, 30, 30],
    });
    const r = localisePlates(f).find((x) => x.cue === 'colour')!;
    const [tl, , , bl] = r.corners;
    // The left edge runs down to the right by the shear: 0.35 px per px of height.
    expect((bl.x - tl.x) / (bl.y - tl.y)).toBeGreaterThan(0.25);
    expect((bl.x - tl.x) / (bl.y - tl.y)).toBeLessThan(0.45);
  });

  it('takes the character groups of one plate together even with wide gaps between them', () => {
    const f = frameWithPlate({
      cx: 320,
      cy: 240,
      w: 260,
      deg: 0,
      gaps: [3, 5],
      field: [20, 20, 20],
      ink: [235, 235, 235],
    });
    const t = localisePlates(f).filter((r) => r.cue === 'texture');
    expect(t.length).toBeGreaterThan(0);
    const widest = Math.max(...t.map((r) => r.box.w));
    // The characters span 6/8 of the plate: one region must cover (nearly) all of them.
    expect(widest).toBeGreaterThan(0.7 * 260);
  });

  it('takes the groups of a tilted plate together too', () => {
    const f = frameWithPlate({
      cx: 300,
      cy: 250,
      w: 260,
      deg: 8,
      gaps: [3, 5],
      field: [20, 20, 20],
      ink: [235, 235, 235],
    });
    const t = localisePlates(f).filter((r) => r.cue === 'texture');
    expect(Math.max(...t.map((r) => r.box.w))).toBeGreaterThan(0.7 * 260);
  });

  it('proposes nothing in a frame without plates', () => {
    const empty = frameWithPlate({ cx: -1000, cy: -1000, w: 10, deg: 0, field: [0, 0, 0], ink: [0, 0, 0] });
    expect(localisePlates(empty)).toEqual([]);
  });
});

describe('cutting a plate out of the frame', () => {
  it('maps the corners of the crop exactly onto the quadrilateral', () => {
    const quad = [
      { x: 100, y: 50 },
      { x: 300, y: 70 },
      { x: 290, y: 130 },
      { x: 95, y: 110 },
    ];
    const h = homography(
      [
        { x: 0, y: 0 },
        { x: 128, y: 0 },
        { x: 128, y: 32 },
        { x: 0, y: 32 },
      ],
      quad,
    );
    const map = (x: number, y: number): [number, number] => {
      const w = h[6]! * x + h[7]! * y + 1;
      return [(h[0]! * x + h[1]! * y + h[2]!) / w, (h[3]! * x + h[4]! * y + h[5]!) / w];
    };
    expect(map(128, 32)[0]).toBeCloseTo(290, 6);
    expect(map(128, 32)[1]).toBeCloseTo(130, 6);
    expect(map(0, 32)[0]).toBeCloseTo(95, 6);
  });

  it('gives a level greyscale crop whose dark and light halves stay where they were', () => {
    const width = 200;
    const height = 100;
    const data = new Uint8Array(width * height * 3);
    for (let y = 0; y < height; y++)
      for (let x = 0; x < width; x++) data.fill(x < 100 ? 30 : 220, (y * width + x) * 3, (y * width + x) * 3 + 3);
    const crop = warpQuadToGrey(
      { width, height, data },
      [
        { x: 40, y: 20 },
        { x: 160, y: 20 },
        { x: 160, y: 80 },
        { x: 40, y: 80 },
      ],
      128,
      32,
    );
    expect(crop[16 * 128 + 10]).toBe(30);
    expect(crop[16 * 128 + 120]).toBe(220);
  });
});
