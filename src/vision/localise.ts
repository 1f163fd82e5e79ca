import { boxOfCorners, iou, type PlateBox, type Point, type RgbFrame } from './image.js';

/**
 * Finds where plates may be in a frame, without a network: Raspberry-Pi-class hardware cannot
 * afford a detector over a whole frame at several frames per second, and a Dutch plate is easy
 * to propose by two cheap cues, whose false proposals the reader then rejects (a crop that does
 * not read as a Dutch sidecode is not a plate):
 *  - colour: the yellow reflective field (hue 28–68°, saturated, not dark), and the light-blue
 *    field of taxi and bus plates (hue 180–225°, moderately saturated, bright);
 *  - texture: a short band of dense vertical edges (characters), which also finds the black,
 *    dark-blue and washed-out plates that colour misses, and plates under IR at night. It runs at
 *    half and at quarter resolution, so that the large characters of a plate close to the camera
 *    form one band as well as the small ones of a distant plate.
 * Colour and the finer texture run on a half-resolution copy of the frame. Each proposal is an
 * oriented rectangle from the second moments of its pixels, so a tilted plate is rectified when
 * it is cut out.
 */
export interface PlateRegion {
  readonly box: PlateBox;
  readonly corners: readonly [Point, Point, Point, Point];
  readonly cue: 'colour' | 'texture';
  /** Larger is more plate-like; orders proposals within a cue. */
  readonly score: number;
}

export interface LocaliseOptions {
  /** At most this many proposals are returned (colour first, then texture). */
  readonly maxRegions?: number;
}

const MIN_W = 16; // half-resolution pixels: a plate narrower than ~32 px cannot be read anyway
const MIN_H = 4;
const MAX_TILT = (25 * Math.PI) / 180;
/** Side edges slanting more than this (about 35°) are not a plate's. */
const MAX_SLANT = 0.7;

export function localisePlates(frame: RgbFrame, options: LocaliseOptions = {}): PlateRegion[] {
  const maxRegions = options.maxRegions ?? 8;
  const half = downsample(frame);
  const edges = edgeBandMask(half.grey, half.w, half.h);
  const colourOf = (mask: Uint8Array): PlateRegion[] =>
    components(mask, half.w, half.h)
      .map((c) => regionOf(c, half.w, 'colour', { padX: 0.02, padY: 0.08 }))
      .filter((r): r is PlateRegion => r !== undefined);
  // A light-blue field is also sky, glass and blue paint: only plate-sized fields with
  // characters in them count, and at most two.
  const lightBlue = colourOf(lightBlueMask(half))
    .filter((r) => r.box.w <= 0.6 * half.w && coverage(edges, half.w, half.h, r.box) >= LIGHT_BLUE_MIN_TEXTURE)
    .sort((a, b) => b.score - a.score)
    .slice(0, 2);
  const colour = [...colourOf(yellowMask(half)), ...lightBlue].sort((a, b) => b.score - a.score);
  // The half-resolution texture first; the quarter-resolution one adds the plates too large for it.
  const fine = textureRegions(edges, half.w, half.h, 1);
  const quarter = halve(half.grey, half.w, half.h);
  const coarse = textureRegions(edgeBandMask(quarter.grey, quarter.w, quarter.h), quarter.w, quarter.h, 2).filter(
    (r) => !fine.some((f) => iou(f.box, r.box) > 0.3),
  );
  const texture = [...fine, ...coarse].sort((a, b) => b.score - a.score);
  const out: PlateRegion[] = [];
  for (const r of colour) if (out.length < maxRegions) out.push(r);
  for (const r of texture) {
    if (out.length >= maxRegions) break;
    if (out.some((o) => iou(o.box, r.box) > 0.3)) continue;
    out.push(r);
  }
  // Back to full-resolution coordinates.
  return out.map((r) => {
    const corners = r.corners.map((p) => ({ x: p.x * 2, y: p.y * 2 })) as unknown as [Point, Point, Point, Point];
    return { ...r, corners, box: boxOfCorners(corners) };
  });
}

/** Share of a light-blue field's box that the character texture covers, at least. */
const LIGHT_BLUE_MIN_TEXTURE = 0.08;

/** The share of a box's pixels set in a mask. */
function coverage(mask: Uint8Array, w: number, h: number, box: PlateBox): number {
  const x0 = Math.max(0, box.x);
  const y0 = Math.max(0, box.y);
  const x1 = Math.min(w, box.x + box.w);
  const y1 = Math.min(h, box.y + box.h);
  let on = 0;
  for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) on += mask[y * w + x]!;
  return on / Math.max(1, box.w * box.h);
}

/**
 * Character-texture proposals from an edge-band mask `scale` times smaller than the half frame,
 * in half-frame coordinates. Scores are per half-frame pixel, so both scales compare.
 */
function textureRegions(edges: Uint8Array, w: number, h: number, scale: number): PlateRegion[] {
  const pad = { padX: 0.12, padY: 0.4 };
  return groupTextLine(components(edges, w, h), w)
    .flatMap((g) => {
      // A joined line that is not plate-shaped falls back to its pieces.
      const joined = regionOf(g.pixels, w, 'texture', pad);
      return joined ? [joined] : g.pieces.map((p) => regionOf(p, w, 'texture', pad));
    })
    .filter((r): r is PlateRegion => r !== undefined)
    .map((r) => {
      if (scale === 1) return r;
      const corners = r.corners.map((p) => ({ x: p.x * scale, y: p.y * scale })) as unknown as [
        Point,
        Point,
        Point,
        Point,
      ];
      return { ...r, corners, box: boxOfCorners(corners), score: r.score * scale * scale };
    });
}

interface HalfFrame {
  readonly w: number;
  readonly h: number;
  readonly r: Uint8Array;
  readonly g: Uint8Array;
  readonly b: Uint8Array;
  readonly grey: Uint8Array;
}

function downsample(frame: RgbFrame): HalfFrame {
  const w = frame.width >> 1;
  const h = frame.height >> 1;
  const r = new Uint8Array(w * h);
  const g = new Uint8Array(w * h);
  const b = new Uint8Array(w * h);
  const grey = new Uint8Array(w * h);
  const src = frame.data;
  const stride = frame.width * 3;
  for (let y = 0; y < h; y++) {
    let i0 = 2 * y * stride;
    let i1 = i0 + stride;
    for (let x = 0; x < w; x++, i0 += 6, i1 += 6) {
      const rr = (src[i0]! + src[i0 + 3]! + src[i1]! + src[i1 + 3]!) >> 2;
      const gg = (src[i0 + 1]! + src[i0 + 4]! + src[i1 + 1]! + src[i1 + 4]!) >> 2;
      const bb = (src[i0 + 2]! + src[i0 + 5]! + src[i1 + 2]! + src[i1 + 5]!) >> 2;
      const o = y * w + x;
      r[o] = rr;
      g[o] = gg;
      b[o] = bb;
      grey[o] = (77 * rr + 150 * gg + 29 * bb) >> 8;
    }
  }
  return { w, h, r, g, b, grey };
}

/** Yellow by hue, saturation and value: the plate's field, whatever the exposure. */
function yellowMask(f: HalfFrame): Uint8Array {
  const m = new Uint8Array(f.w * f.h);
  for (let i = 0; i < m.length; i++) {
    const r = f.r[i]!;
    const g = f.g[i]!;
    const b = f.b[i]!;
    const max = r > g ? (r > b ? r : b) : g > b ? g : b;
    const min = r < g ? (r < b ? r : b) : g < b ? g : b;
    if (max < 50 || b === max) continue;
    const sat = (max - min) / max;
    if (sat < 0.3) continue;
    // Hue in degrees for r or g being the maximum (blue maximum is not yellow).
    const hue = r === max ? (60 * (g - b)) / (max - min) : 120 + (60 * (b - r)) / (max - min);
    if (hue >= 28 && hue <= 68) m[i] = 1;
  }
  return m;
}

/**
 * Light blue by hue, saturation and value: the field of taxi and bus plates. Brighter and less
 * saturated than blue paint; the reader rejects the sky and glass that also pass.
 */
function lightBlueMask(f: HalfFrame): Uint8Array {
  const m = new Uint8Array(f.w * f.h);
  for (let i = 0; i < m.length; i++) {
    const r = f.r[i]!;
    const g = f.g[i]!;
    const b = f.b[i]!;
    if (b < 90 || b < g || b < r) continue;
    const min = r < g ? r : g;
    const sat = (b - min) / b;
    if (sat < 0.15 || sat > 0.8) continue;
    // Hue in degrees with blue the maximum: 240 + 60 (r - g) / (max - min).
    const hue = 240 + (60 * (r - g)) / (b - min);
    if (hue >= 180 && hue <= 225) m[i] = 1;
  }
  return m;
}

/** A greyscale image at half the size (2x2 means). */
function halve(grey: Uint8Array, w: number, h: number): { grey: Uint8Array; w: number; h: number } {
  const w2 = w >> 1;
  const h2 = h >> 1;
  const out = new Uint8Array(w2 * h2);
  for (let y = 0; y < h2; y++)
    for (let x = 0; x < w2; x++) {
      const i = 2 * y * w + 2 * x;
      out[y * w2 + x] = (grey[i]! + grey[i + 1]! + grey[i + w]! + grey[i + w + 1]!) >> 2;
    }
  return { grey: out, w: w2, h: h2 };
}

/**
 * Pixels inside a horizontal run of dense vertical edges: characters side by side. The edge
 * threshold follows the frame's own contrast, so a dim frame still yields its plate.
 */
function edgeBandMask(grey: Uint8Array, w: number, h: number): Uint8Array {
  const grad = new Uint8Array(w * h);
  const histogram = new Uint32Array(256);
  for (let y = 0; y < h; y++) {
    for (let x = 1; x < w - 1; x++) {
      const i = y * w + x;
      const d = Math.abs(grey[i + 1]! - grey[i - 1]!);
      grad[i] = d;
      histogram[d]!++;
    }
  }
  // Character strokes are among the strongest edges of a frame: above the 90th percentile of
  // the frame's own edge strengths (and never below 24 grey levels, for flat frames).
  let seen = 0;
  let p90 = 0;
  const total = h * (w - 2);
  while (p90 < 255 && (seen += histogram[p90]!) < 0.9 * total) p90++;
  const threshold = Math.max(24, p90);
  const m = new Uint8Array(w * h);
  const WIN = 12;
  const NEED = 4;
  const GAP = 10;
  for (let y = 0; y < h; y++) {
    // Count the starts of dark-to-light and light-to-dark edges in a sliding window: a thick
    // edge counts once, and both sides of a thin stroke count.
    const edge = new Uint8Array(w);
    let prev = 0;
    for (let x = 1; x < w - 1; x++) {
      const i = y * w + x;
      const d = grad[i]! >= threshold ? (grey[i + 1]! > grey[i - 1]! ? 1 : -1) : 0;
      if (d !== 0 && d !== prev) edge[x] = 1;
      prev = d;
    }
    // Where the window holds enough edges, the band runs from its first edge to its last, so
    // it ends where the characters end on both sides.
    let count = 0;
    let first = 0;
    for (let x = 0; x < w; x++) {
      count += edge[x]!;
      if (x >= WIN) count -= edge[x - WIN]!;
      if (!edge[x] || count < NEED) continue;
      first = Math.max(first, x - WIN + 1);
      while (!edge[first]) first++;
      for (let k = first; k <= x; k++) m[y * w + k] = 1;
    }
    // Closing along the row: the gap of a dash between two character groups is part of the plate.
    let lastOn = -1;
    for (let x = 0; x < w; x++) {
      if (!m[y * w + x]) continue;
      if (lastOn >= 0 && x - lastOn > 1 && x - lastOn <= GAP) for (let k = lastOn + 1; k < x; k++) m[y * w + k] = 1;
      lastOn = x;
    }
  }
  return m;
}

/** Pixel indices of each 4-connected component of a binary mask. */
function components(mask: Uint8Array, w: number, h: number): Int32Array[] {
  const label = new Int32Array(mask.length);
  const out: Int32Array[] = [];
  const stack = new Int32Array(mask.length);
  let next = 0;
  for (let start = 0; start < mask.length; start++) {
    if (!mask[start] || label[start]) continue;
    next++;
    let top = 0;
    let n = 0;
    const push = (j: number): void => {
      label[j] = next;
      stack[top++] = j;
    };
    push(start);
    const pixels: number[] = [];
    while (top > 0) {
      const i = stack[--top]!;
      pixels.push(i);
      n++;
      const x = i % w;
      const y = (i - x) / w;
      if (x > 0 && mask[i - 1] && !label[i - 1]) push(i - 1);
      if (x < w - 1 && mask[i + 1] && !label[i + 1]) push(i + 1);
      if (y > 0 && mask[i - w] && !label[i - w]) push(i - w);
      if (y < h - 1 && mask[i + w] && !label[i + w]) push(i + w);
    }
    if (n >= MIN_W * MIN_H * 0.5) out.push(Int32Array.from(pixels));
  }
  return out;
}

/** The oriented rectangle of a component, or undefined when it is not plate-shaped. */
function regionOf(
  pixels: Int32Array,
  w: number,
  cue: PlateRegion['cue'],
  pad: { padX: number; padY: number },
): PlateRegion | undefined {
  let sx = 0;
  let sy = 0;
  for (const i of pixels) {
    sx += i % w;
    sy += Math.floor(i / w);
  }
  const n = pixels.length;
  const cx = sx / n;
  const cy = sy / n;
  let xx = 0;
  let yy = 0;
  let xy = 0;
  for (const i of pixels) {
    const dx = (i % w) - cx;
    const dy = Math.floor(i / w) - cy;
    xx += dx * dx;
    yy += dy * dy;
    xy += dx * dy;
  }
  let angle = 0.5 * Math.atan2(2 * xy, xx - yy);
  if (Math.abs(angle) > MAX_TILT) return undefined;
  const ca = Math.cos(angle);
  const sa = Math.sin(angle);
  let u0 = Infinity;
  let u1 = -Infinity;
  let v0 = Infinity;
  let v1 = -Infinity;
  for (const i of pixels) {
    const dx = (i % w) - cx;
    const dy = Math.floor(i / w) - cy;
    const u = dx * ca + dy * sa;
    const v = -dx * sa + dy * ca;
    if (u < u0) u0 = u;
    if (u > u1) u1 = u;
    if (v < v0) v0 = v;
    if (v > v1) v1 = v;
  }
  const width = u1 - u0 + 1;
  const height = v1 - v0 + 1;
  if (width < MIN_W || height < MIN_H) return undefined;
  const aspect = width / height;
  const fill = n / (width * height);
  const [minAspect, maxAspect, minFill] = cue === 'colour' ? [2, 7.5, 0.35] : [1.8, 9, 0.45];
  if (aspect < minAspect || aspect > maxAspect || fill < minFill) return undefined;
  if (Math.abs(angle) < 0.01) angle = 0;
  // A plate seen from the side is a parallelogram or trapezoid, not a rectangle: fit its left
  // and right edges as lines u = a + b·v through the outermost pixel of each row.
  const rows = Math.round(v1 - v0) + 1;
  const left = new Float64Array(rows).fill(Infinity);
  const right = new Float64Array(rows).fill(-Infinity);
  for (const i of pixels) {
    const dx = (i % w) - cx;
    const dy = Math.floor(i / w) - cy;
    const u = dx * ca + dy * sa;
    const r = Math.round(-dx * sa + dy * ca - v0);
    if (u < left[r]!) left[r] = u;
    if (u > right[r]!) right[r] = u;
  }
  const l = fitEdge(left, v0, u0);
  const r = fitEdge(right, v0, u1);
  const px = width * pad.padX;
  const py = height * pad.padY;
  const at = (u: number, v: number): Point => ({
    x: cx + u * Math.cos(angle) - v * Math.sin(angle) + 0.5,
    y: cy + u * Math.sin(angle) + v * Math.cos(angle) + 0.5,
  });
  const top = v0 - py;
  const bottom = v1 + py;
  const corners: [Point, Point, Point, Point] = [
    at(l.a + l.b * top - px, top),
    at(r.a + r.b * top + px, top),
    at(r.a + r.b * bottom + px, bottom),
    at(l.a + l.b * bottom - px, bottom),
  ];
  // Plates are about 4.4 times as wide as high; prefer big, well-filled, plate-proportioned blobs.
  const score = n * fill * Math.exp(-Math.abs(Math.log(aspect / 4.4)));
  return { box: boxOfCorners(corners), corners, cue, score };
}

/**
 * Least-squares line u = a + b·v through one side's outermost pixels, rows in the middle 80% of
 * the height only (corners are rounded or clipped), refitted once without rows more than 1.5 px
 * off. Falls back to the vertical line at `fallback` when too few rows or an implausible slant.
 */
function fitEdge(edge: Float64Array, v0: number, fallback: number): { a: number; b: number } {
  const n = edge.length;
  const lo = Math.floor(n * 0.1);
  const hi = Math.ceil(n * 0.9);
  let fit = { a: fallback, b: 0 };
  let use = (r: number): boolean => Number.isFinite(edge[r]!);
  for (let pass = 0; pass < 2; pass++) {
    let sv = 0;
    let su = 0;
    let svv = 0;
    let svu = 0;
    let k = 0;
    for (let r = lo; r < hi; r++) {
      if (!use(r)) continue;
      const v = v0 + r;
      const u = edge[r]!;
      sv += v;
      su += u;
      svv += v * v;
      svu += v * u;
      k++;
    }
    if (k < 4) return { a: fallback, b: 0 };
    const den = k * svv - sv * sv;
    if (den <= 0) return { a: fallback, b: 0 };
    const b = (k * svu - sv * su) / den;
    fit = { a: (su - b * sv) / k, b };
    const current = fit;
    use = (r: number): boolean =>
      Number.isFinite(edge[r]!) && Math.abs(edge[r]! - (current.a + current.b * (v0 + r))) <= 1.5;
  }
  return Math.abs(fit.b) > MAX_SLANT ? { a: fallback, b: 0 } : fit;
}

/**
 * Joins character-texture pieces that lie on one text line: a plate's groups are separated by
 * dashes and gaps wider than the row closing bridges. Pieces join when their centres lie on a
 * line tilted no more than a plate may be, their heights are within a factor 2.5 (a piece may
 * have picked up the plate's border), and the horizontal gap is under twice the taller height.
 */
function groupTextLine(parts: Int32Array[], w: number): { pixels: Int32Array; pieces: Int32Array[] }[] {
  const boxes = parts.map((p) => {
    let x0 = Infinity;
    let x1 = -Infinity;
    let y0 = Infinity;
    let y1 = -Infinity;
    for (const i of p) {
      const x = i % w;
      const y = (i - x) / w;
      if (x < x0) x0 = x;
      if (x > x1) x1 = x;
      if (y < y0) y0 = y;
      if (y > y1) y1 = y;
    }
    return { x0, x1, y0, y1, h: y1 - y0 + 1 };
  });
  const parent = parts.map((_, i) => i);
  const find = (i: number): number => (parent[i] === i ? i : (parent[i] = find(parent[i]!)));
  for (let i = 0; i < parts.length; i++)
    for (let j = i + 1; j < parts.length; j++) {
      const a = boxes[i]!;
      const b = boxes[j]!;
      const hMin = Math.min(a.h, b.h);
      const hMax = Math.max(a.h, b.h);
      if (hMax > 2.5 * hMin) continue;
      // Centres on one line, which may be tilted up to MAX_TILT (tan 25° ≈ 0.47).
      const dx = Math.abs((a.x0 + a.x1) / 2 - (b.x0 + b.x1) / 2);
      const dy = Math.abs((a.y0 + a.y1) / 2 - (b.y0 + b.y1) / 2);
      if (dy > 0.5 * hMin + 0.47 * dx) continue;
      const gap = Math.max(a.x0, b.x0) - Math.min(a.x1, b.x1);
      if (gap > 2 * hMax) continue;
      parent[find(i)] = find(j);
    }
  const groups = new Map<number, Int32Array[]>();
  parts.forEach((p, i) => {
    const root = find(i);
    groups.set(root, [...(groups.get(root) ?? []), p]);
  });
  return [...groups.values()].map((g) => {
    if (g.length === 1) return { pixels: g[0]!, pieces: [] };
    const out = new Int32Array(g.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of g) {
      out.set(p, at);
      at += p.length;
    }
    return { pixels: out, pieces: g };
  });
}
