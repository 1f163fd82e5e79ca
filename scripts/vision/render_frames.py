#!/usr/bin/python3
"""Synthetic 640x480 camera frames with one Dutch plate each, for developing the localiser.

render_plates.py renders what the reader takes (crops cut out by the localiser); this renders what
the localiser takes: a whole frame with a car, a holder frame, bumper, lights, grille bars and a
background, and the plate somewhere in it, with the plate's four corners as ground truth. The plate
colour is chosen per frame, so each kind of plate can be measured on its own:

  yellow      the current yellow plate with the EU band, black characters;
  black       old black plate, white or silver characters (old-timers);
  darkblue    old dark-blue plate, white characters;
  lightblue   light-blue field, black characters (taxi and bus plates).

The plate itself comes from render_plates.py (same faces, dirt, glare); the camera degradations
(blur, noise, exposure, colour cast, JPEG, night/IR greyscale) apply to the whole frame. Only
synthetic: the real clips are for measuring, never for developing against.

    /usr/bin/python3 scripts/vision/render_frames.py --count 200 --seed 1 --styles black,lightblue --out tmp/vision/frames

writes frames.rgb (N x 480 x 640 x 3 bytes, rgb24 like ffmpeg's) and frames.json (text, style,
corners clockwise from top-left per frame).
"""

import argparse
import json
import math
import os
import random

import numpy as np
from PIL import Image, ImageDraw

import render_plates as rp

FRAME_W, FRAME_H = 640, 480
STYLES = ["yellow", "black", "darkblue", "lightblue"]
# The first rng.random() of render_plates.render_plate picks the plate colour.
STYLE_DRAW = {"yellow": 0.5, "black": 0.9, "darkblue": 0.97, "lightblue": 0.5}


class FirstDraw(random.Random):
    """A random.Random whose first random() returns a chosen value (render_plate's colour draw)."""

    def __init__(self, seed, first):
        super().__init__(seed)
        self._first = first

    def random(self):
        if self._first is not None:
            v, self._first = self._first, None
            return v
        return super().random()


def plate_image(rng, text, style):
    img, field_x0, _ = rp.render_plate(FirstDraw(rng.randrange(1 << 30), STYLE_DRAW[style]), text)
    if style == "lightblue":
        # The yellow field becomes light blue; ink (dark) pixels keep their darkness.
        arr = np.asarray(img).astype(np.float32)
        field = arr[:, field_x0:]
        lum = field @ np.array([0.3, 0.59, 0.11], dtype=np.float32)
        bg_lum = float(np.percentile(lum, 90))
        ink = np.clip((bg_lum - lum) / max(1.0, bg_lum - 20), 0, 1)[..., None]
        blue = np.array([rng.uniform(80, 150), rng.uniform(165, 210), rng.uniform(215, 255)], dtype=np.float32)
        fg = np.array([rng.uniform(0, 35)] * 3, dtype=np.float32)
        arr[:, field_x0:] = blue * (1 - ink) + fg * ink
        img = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))
    return img


def holder(rng, plate):
    """The plate in its holder frame (often with a dealer's name below), RGBA."""
    pw, ph = plate.size
    if rng.random() < 0.6:
        fw = int(rng.uniform(4, 12))
        fb = int(rng.uniform(fw, 34))
    else:
        fw = fb = 0
    out = Image.new("RGBA", (pw + 2 * fw, ph + fw + fb), (int(rng.uniform(0, 60)),) * 3 + (255,))
    d = ImageDraw.Draw(out)
    if fb > 18 and rng.random() < 0.7:
        dealer = "".join(rng.choice("ABCDEFGHIJKLMNOPRSTUVWZ") for _ in range(rng.randrange(6, 16))) + ".NL"
        f = rp.font(rng.choice(rp.FONTS), int(fb * 0.6))
        d.text((out.size[0] / 2, ph + fw + fb / 2), dealer, font=f, fill=(230, 230, 230), anchor="mm")
    out.paste(plate, (fw, fw))
    return out, fw


def scene(rng):
    """Background and a car's front or rear: body, bumper, lights, grille bars."""
    sky = [int(rng.uniform(60, 200))] * 3
    img = Image.new("RGB", (FRAME_W, FRAME_H), tuple(sky))
    d = ImageDraw.Draw(img)
    for _ in range(rng.randrange(2, 7)):  # walls, poles, other cars, posts
        x0, y0 = rng.uniform(-100, FRAME_W), rng.uniform(-100, FRAME_H)
        c = tuple(int(rng.uniform(0, 255)) for _ in range(3))
        d.rectangle([x0, y0, x0 + rng.uniform(10, 300), y0 + rng.uniform(10, 300)], fill=c)
    road = int(rng.uniform(50, 120))
    d.rectangle([0, FRAME_H * rng.uniform(0.7, 0.95), FRAME_W, FRAME_H], fill=(road, road, road + 3))
    body = tuple(int(rng.uniform(0, 255)) for _ in range(3))
    cx = rng.uniform(0.3, 0.7) * FRAME_W
    half = rng.uniform(0.3, 0.6) * FRAME_W
    top = rng.uniform(0.05, 0.45) * FRAME_H
    bottom = rng.uniform(0.85, 1.05) * FRAME_H
    d.rounded_rectangle([cx - half, top, cx + half, bottom], radius=int(rng.uniform(5, 60)), fill=body)
    for _ in range(rng.randrange(1, 4)):  # bumper, trim lines
        y = rng.uniform(top, bottom)
        c = tuple(int(min(255, max(0, v + rng.uniform(-100, 100)))) for v in body)
        d.rectangle([cx - half, y, cx + half, y + rng.uniform(2, 40)], fill=c)
    if rng.random() < 0.5:  # grille: dense vertical or horizontal bars
        gx0, gy0 = cx - rng.uniform(40, 160), rng.uniform(top, (top + bottom) / 2)
        gx1, gy1 = cx + rng.uniform(40, 160), gy0 + rng.uniform(20, 80)
        c = (int(rng.uniform(0, 80)),) * 3
        step = rng.uniform(4, 12)
        vertical = rng.random() < 0.6
        x = gx0
        y = gy0
        while (x < gx1) if vertical else (y < gy1):
            if vertical:
                d.rectangle([x, gy0, x + step / 2, gy1], fill=c)
                x += step
            else:
                d.rectangle([gx0, y, gx1, y + step / 2], fill=c)
                y += step
    ly = rng.uniform(top, (top + bottom) / 2)
    lc = rng.choice([(220, 30, 30), (250, 150, 30), (240, 240, 230)])
    for sx in (-1, 1):  # lights
        lx = cx + sx * half * rng.uniform(0.6, 0.9)
        r = rng.uniform(10, 40)
        d.ellipse([lx - r, ly - r / 2, lx + r, ly + r / 2], fill=lc)
    return img, (cx, half, top, bottom)


def frame(rng, style):
    text = rp.random_plate_text(rng)
    plate = rp.dirt_and_glare(rng, plate_image(rng, text, style))
    hold, fw = holder(rng, plate)
    img, (cx, half, top, bottom) = scene(rng)
    # The plate: 70-260 px wide, somewhere on the car, with roll, yaw, pitch and shear.
    plate_w = math.exp(rng.uniform(math.log(70), math.log(260)))
    s = plate_w / rp.PLATE_W
    pcx = min(FRAME_W - plate_w * 0.6, max(plate_w * 0.6, cx + rng.uniform(-0.5, 0.5) * half))
    pcy = rng.uniform(max(top, 40), min(bottom, FRAME_H - 40))
    roll = math.radians(rng.gauss(0, 4))
    yaw = rng.uniform(-0.25, 0.25)
    pitch = rng.uniform(-0.15, 0.15)
    shear = rng.gauss(0, 0.07)
    W, H = hold.size

    def place(x, y):
        u, v = (x - W / 2) * s, (y - H / 2) * s
        u += shear * v
        u, v = u * math.cos(roll) - v * math.sin(roll), u * math.sin(roll) + v * math.cos(roll)
        kx = 1 + yaw * (1 if x > W / 2 else -1) * 0.5
        ky = 1 + pitch * (1 if y > H / 2 else -1) * 0.5
        return (pcx + u * ky, pcy + v * kx)

    src = [(0, 0), (W, 0), (W, H), (0, H)]
    dst = [place(x, y) for x, y in src]
    coeffs = rp.perspective_coeffs(src, dst)
    warped = hold.transform((FRAME_W, FRAME_H), Image.PERSPECTIVE, coeffs, Image.BILINEAR)
    img.paste(warped, (0, 0), warped)
    plate_quad = [(fw, fw), (fw + rp.PLATE_W, fw), (fw + rp.PLATE_W, fw + rp.PLATE_H), (fw, fw + rp.PLATE_H)]
    corners = rp.invert_points(src, dst, plate_quad)
    img = rp.camera(rng, img, plate_w)
    return np.asarray(img, dtype=np.uint8), {"text": text, "style": style, "corners": [[round(x, 1), round(y, 1)] for x, y in corners]}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--count", type=int, default=200)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--styles", default=",".join(STYLES), help="plate colours, comma-separated, taken in turn")
    ap.add_argument("--out", required=True, help="directory for frames.rgb and frames.json")
    ap.add_argument("--preview", type=int, default=0, help="also write the first N frames as PNG")
    a = ap.parse_args()
    styles = a.styles.split(",")
    for s in styles:
        if s not in STYLES:
            raise SystemExit(f"render_frames: unknown style {s} (known: {', '.join(STYLES)})")
    rng = random.Random(a.seed)
    os.makedirs(a.out, exist_ok=True)
    meta = []
    with open(os.path.join(a.out, "frames.rgb"), "wb") as f:
        for i in range(a.count):
            arr, m = frame(rng, styles[i % len(styles)])
            f.write(arr.tobytes())
            meta.append(m)
            if i < a.preview:
                Image.fromarray(arr).save(os.path.join(a.out, f"frame{i:03d}.png"))
    with open(os.path.join(a.out, "frames.json"), "w") as f:
        json.dump({"width": FRAME_W, "height": FRAME_H, "frames": meta}, f)
    print(f"render_frames: {a.count} frames -> {a.out}")


if __name__ == "__main__":
    main()
