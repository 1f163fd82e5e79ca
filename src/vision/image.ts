/** A decoded video frame: packed RGB, 3 bytes per pixel, rows top to bottom (ffmpeg's rgb24). */
export interface RgbFrame {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array;
}

/** A point in frame pixels. */
export interface Point {
  readonly x: number;
  readonly y: number;
}

/**
 * Where a plate lies in the frame: its four corners clockwise from top-left, and the axis-aligned
 * box around them (what the status page draws and `recognize --json` prints).
 */
export interface PlateBox {
  readonly x: number;
  readonly y: number;
  readonly w: number;
  readonly h: number;
  readonly corners: readonly [Point, Point, Point, Point];
}

export function boxOfCorners(corners: readonly [Point, Point, Point, Point]): PlateBox {
  const xs = corners.map((p) => p.x);
  const ys = corners.map((p) => p.y);
  const x = Math.min(...xs);
  const y = Math.min(...ys);
  return {
    x: Math.round(x),
    y: Math.round(y),
    w: Math.round(Math.max(...xs) - x),
    h: Math.round(Math.max(...ys) - y),
    corners: corners.map((p) => ({ x: Math.round(p.x * 10) / 10, y: Math.round(p.y * 10) / 10 })) as unknown as [
      Point,
      Point,
      Point,
      Point,
    ],
  };
}

/**
 * A quadrilateral (clockwise from top-left) scaled about its centre by `along` in the direction of
 * its top and bottom edges and by `across` in the direction of its sides: a plate's region cut out
 * wider or narrower, taller or shorter, whatever its tilt.
 */
export function scaleQuad(
  c: readonly [Point, Point, Point, Point],
  along: number,
  across: number,
): [Point, Point, Point, Point] {
  const cx = (c[0].x + c[1].x + c[2].x + c[3].x) / 4;
  const cy = (c[0].y + c[1].y + c[2].y + c[3].y) / 4;
  const unit = (x: number, y: number): Point => {
    const n = Math.hypot(x, y) || 1;
    return { x: x / n, y: y / n };
  };
  const u = unit(c[1].x + c[2].x - c[0].x - c[3].x, c[1].y + c[2].y - c[0].y - c[3].y);
  const v = unit(c[3].x + c[2].x - c[0].x - c[1].x, c[3].y + c[2].y - c[0].y - c[1].y);
  const scaled = c.map((p) => {
    const a = ((p.x - cx) * u.x + (p.y - cy) * u.y) * (along - 1);
    const b = ((p.x - cx) * v.x + (p.y - cy) * v.y) * (across - 1);
    return { x: p.x + a * u.x + b * v.x, y: p.y + a * u.y + b * v.y };
  });
  return [scaled[0]!, scaled[1]!, scaled[2]!, scaled[3]!];
}

/** Intersection over union of two axis-aligned boxes. */
export function iou(a: PlateBox, b: PlateBox): number {
  const x0 = Math.max(a.x, b.x);
  const y0 = Math.max(a.y, b.y);
  const x1 = Math.min(a.x + a.w, b.x + b.w);
  const y1 = Math.min(a.y + a.h, b.y + b.h);
  const inter = Math.max(0, x1 - x0) * Math.max(0, y1 - y0);
  const union = a.w * a.h + b.w * b.h - inter;
  return union > 0 ? inter / union : 0;
}

/**
 * Samples the quadrilateral `corners` (clockwise from top-left) of an RGB frame into a greyscale
 * crop of `outW` x `outH` through the homography that maps the crop's rectangle onto the quad,
 * with bilinear interpolation. This both cuts out and rectifies a plate seen at an angle.
 */
export function warpQuadToGrey(
  frame: RgbFrame,
  corners: readonly [Point, Point, Point, Point],
  outW: number,
  outH: number,
  out: Uint8Array = new Uint8Array(outW * outH),
): Uint8Array {
  const h = homography(
    [
      { x: 0, y: 0 },
      { x: outW, y: 0 },
      { x: outW, y: outH },
      { x: 0, y: outH },
    ],
    corners,
  );
  const { width, height, data } = frame;
  let o = 0;
  for (let v = 0; v < outH; v++) {
    for (let u = 0; u < outW; u++) {
      const cu = u + 0.5;
      const cv = v + 0.5;
      const w = h[6]! * cu + h[7]! * cv + 1;
      const sx = (h[0]! * cu + h[1]! * cv + h[2]!) / w - 0.5;
      const sy = (h[3]! * cu + h[4]! * cv + h[5]!) / w - 0.5;
      out[o++] = sampleGrey(data, width, height, sx, sy);
    }
  }
  return out;
}

function greyAt(data: Uint8Array, width: number, height: number, x: number, y: number): number {
  const cx = x < 0 ? 0 : x >= width ? width - 1 : x;
  const cy = y < 0 ? 0 : y >= height ? height - 1 : y;
  const i = (cy * width + cx) * 3;
  return 0.299 * data[i]! + 0.587 * data[i + 1]! + 0.114 * data[i + 2]!;
}

function sampleGrey(data: Uint8Array, width: number, height: number, x: number, y: number): number {
  const x0 = Math.floor(x);
  const y0 = Math.floor(y);
  const fx = x - x0;
  const fy = y - y0;
  const a = greyAt(data, width, height, x0, y0);
  const b = greyAt(data, width, height, x0 + 1, y0);
  const c = greyAt(data, width, height, x0, y0 + 1);
  const d = greyAt(data, width, height, x0 + 1, y0 + 1);
  const v = (a * (1 - fx) + b * fx) * (1 - fy) + (c * (1 - fx) + d * fx) * fy;
  return v < 0 ? 0 : v > 255 ? 255 : Math.round(v);
}

/**
 * The 3x3 homography (8 coefficients, h33 = 1) mapping each `from` point to the `to` point with
 * the same index, by solving the 8x8 linear system with Gaussian elimination.
 */
export function homography(from: readonly Point[], to: readonly Point[]): number[] {
  const a: number[][] = [];
  for (let i = 0; i < 4; i++) {
    const { x, y } = from[i]!;
    const { x: u, y: v } = to[i]!;
    a.push([x, y, 1, 0, 0, 0, -u * x, -u * y, u]);
    a.push([0, 0, 0, x, y, 1, -v * x, -v * y, v]);
  }
  for (let col = 0; col < 8; col++) {
    let pivot = col;
    for (let r = col + 1; r < 8; r++) if (Math.abs(a[r]![col]!) > Math.abs(a[pivot]![col]!)) pivot = r;
    [a[col], a[pivot]] = [a[pivot]!, a[col]!];
    const p = a[col]![col]!;
    if (Math.abs(p) < 1e-12) throw new Error('degenerate quadrilateral');
    for (let r = 0; r < 8; r++) {
      if (r === col) continue;
      const f = a[r]![col]! / p;
      if (f === 0) continue;
      for (let c = col; c < 9; c++) a[r]![c]! -= f * a[col]![c]!;
    }
  }
  return a.map((row, i) => row[8]! / row[i]!);
}
