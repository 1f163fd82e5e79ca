#!/usr/bin/python3
"""Synthetic Dutch number plates for training and evaluating zonegate's plate reader.

Renders plates of every sidecode (1-14) the way a roadside camera sees them after our localiser
has cut them out: yellow reflective plate with the blue EU band and 'NL', black characters in a
condensed DIN-like face (mostly the Kenteken-like stroke face of kenteken_glyphs.py, else a
condensed system font), dashes between the groups, sometimes the small duplicate digit, a holder
frame with dealer text, then perspective, scale, blur, glare, dirt, shadow, noise, JPEG, colour
cast, night/IR-like greyscale and partial occlusion. Old black and dark-blue plates (white
characters) are rendered too, since such cars still drive.

Output is what the reader model takes: greyscale crops of 32x128 pixels whose corners are the
plate's corners as an imperfect localiser would find them (jittered, sometimes with the EU band,
sometimes only the yellow field), and the label with dashes ("96-LKH-9"; "" for a crop with no
plate).

Debian's python3-pil and python3-numpy only; fonts from fonts-dejavu-core/-extra,
fonts-liberation and fonts-b612 (whichever are installed; at least DejaVu).

    /usr/bin/python3 scripts/vision/render_plates.py --count 1000 --seed 7 --out tmp/vision/x.npz
    /usr/bin/python3 scripts/vision/render_plates.py --preview 24 --out tmp/vision/preview.png
    /usr/bin/python3 scripts/vision/render_plates.py --count 2000 --seed 99 --out tmp/vision/heldout.npz --raw-dir tmp/vision/heldout
    /usr/bin/python3 scripts/vision/render_plates.py --count 10000 --seed 200 --focus 0.3 --out tmp/vision/train/k200.npz
"""

import argparse
import io
import math
import multiprocessing as mp
import os
import random
import sys

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

import kenteken_glyphs

CROP_H, CROP_W = 32, 128

# The Kenteken face is not freely available. These are the closest Debian ships: condensed
# grotesques with DIN-like proportions. Each sample picks one, condenses it to the plate's
# character box and varies the stroke weight, so the model learns the shapes, not one font.
FONT_CANDIDATES = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSansCondensed-Bold.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSansCondensed.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSansNarrow-Bold.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSansNarrow-Regular.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf",
    "/usr/share/fonts/opentype/b612/B612-Bold.otf",
    "/usr/share/fonts/opentype/b612/B612-Regular.otf",
    "/usr/share/fonts/truetype/roboto/unhinted/RobotoCondensed-Bold.ttf",
    "/usr/share/fonts/truetype/roboto/unhinted/RobotoCondensed-Medium.ttf",
    "/usr/share/fonts/opentype/urw-base35/NimbusSansNarrow-Bold.otf",
    "/usr/share/fonts/opentype/urw-base35/NimbusSansNarrow-Regular.otf",
]
# DIN 1451-like faces: Dutch plates carried a condensed DIN face from 1978 until Kenteken
# replaced it, and Kenteken itself is its close relative (Open DIN, Bebas Neue).
DIN_CANDIDATES = [
    "/usr/share/fonts/truetype/opendin/OSP-DIN.ttf",
    "/usr/share/fonts/opentype/bebas-neue/BebasNeue-Bold.otf",
    "/usr/share/fonts/opentype/bebas-neue/BebasNeue-Regular.otf",
]
FONTS = [f for f in FONT_CANDIDATES if os.path.exists(f)]
DIN_FONTS = [f for f in DIN_CANDIDATES if os.path.exists(f)] or FONTS
KENTEKEN = "kenteken-strokes"  # the drawn face of kenteken_glyphs.py, used like a font path
KENTEKEN_SHARE = 0.5
DIN_SHARE = 0.2

SIDECODES = [
    "LL-DD-DD", "DD-DD-LL", "DD-LL-DD", "LL-DD-LL", "LL-LL-DD", "DD-LL-LL", "DD-LLL-D",
    "D-LLL-DD", "LL-DDD-L", "L-DDD-LL", "LLL-DD-L", "L-DD-LLL", "D-LL-DDD", "DDD-LL-D",
]
ISSUED = "BDFGHJKLMNPRSTVXZ"  # current series: no vowels, no C, Q, W
OLD_LETTERS = "ABDEFGHJKLMNOPRSTUVXYZ"  # sidecodes 1-3 also used vowels
DIGITS = "0123456789"

# Plate geometry in millimetres (520 x 110), rendered at 1 px/mm.
PLATE_W, PLATE_H = 520, 110
BAND_W = 44


# Characters the reader confuses on small, blurred crops; --focus draws them more often.
CONFUSABLE_LETTERS = "MNVHBSDZKX"
CONFUSABLE_DIGITS = "8517062"


def random_plate_text(rng, focus=False):
    code = rng.randrange(len(SIDECODES))
    pattern = SIDECODES[code]
    letters = OLD_LETTERS if code < 3 and rng.random() < 0.5 else ISSUED
    out = []
    for ch in pattern:
        if ch == "L":
            pool = letters
            if focus and rng.random() < 0.5:
                pool = "".join(c for c in CONFUSABLE_LETTERS if c in letters)
            out.append(rng.choice(pool))
        elif ch == "D":
            out.append(rng.choice(CONFUSABLE_DIGITS if focus and rng.random() < 0.5 else DIGITS))
        else:
            out.append("-")
    return "".join(out)


_font_cache = {}


def font(path, size):
    key = (path, size)
    f = _font_cache.get(key)
    if f is None:
        f = ImageFont.truetype(path, size)
        _font_cache[key] = f
    return f


def glyph(ch, path, char_h, char_w, stroke, colour, style=None):
    """One character as an RGBA tile of char_w x char_h, condensed or stretched to fill it."""
    if path == KENTEKEN:
        tile = kenteken_glyphs.draw_glyph(ch, char_w, char_h, style)
        rgba = Image.new("RGBA", tile.size, colour + (0,))
        rgba.putalpha(tile)
        return rgba
    size = int(char_h * 1.45)
    f = font(path, size)
    bbox = f.getbbox(ch, stroke_width=stroke)
    w, h = bbox[2] - bbox[0], bbox[3] - bbox[1]
    tile = Image.new("L", (w + 4, h + 4), 0)
    ImageDraw.Draw(tile).text((2 - bbox[0], 2 - bbox[1]), ch, font=f, fill=255, stroke_width=stroke, stroke_fill=255)
    # Narrow glyphs (1, I) keep their natural width; the rest fill the box like the plate face.
    natural = w * char_h / max(1, h)
    target_w = int(min(char_w, natural * 1.25)) if ch in "1I" else char_w
    tile = tile.resize((max(2, target_w), char_h), Image.BILINEAR)
    rgba = Image.new("RGBA", tile.size, colour + (0,))
    rgba.putalpha(tile)
    return rgba


def draw_star_ring(d, cx, cy, r, colour):
    for k in range(12):
        a = 2 * math.pi * k / 12
        x, y = cx + r * math.cos(a), cy + r * math.sin(a)
        pts = []
        for j in range(10):
            rr = 2.6 if j % 2 == 0 else 1.1
            aa = -math.pi / 2 + j * math.pi / 5
            pts.append((x + rr * math.cos(aa), y + rr * math.sin(aa)))
        d.polygon(pts, fill=colour)


def render_plate(rng, text):
    """The plate itself, fronto-parallel, RGB, 1 px/mm; returns the image, the text field's left
    edge and a mask of the characters (pixel value k for the k-th character, 0 elsewhere)."""
    style = rng.random()
    if style < 0.86:
        bg = (int(rng.uniform(225, 255)), int(rng.uniform(175, 215)), int(rng.uniform(0, 40)))
        fg = (int(rng.uniform(0, 35)),) * 3
        eu = True
    elif style < 0.94:  # old black plate, white or silver characters
        bg = (int(rng.uniform(5, 35)),) * 3
        fg = (int(rng.uniform(190, 250)),) * 3
        eu = False
    else:  # old dark-blue plate, white characters
        bg = (int(rng.uniform(10, 40)), int(rng.uniform(40, 80)), int(rng.uniform(110, 170)))
        fg = (int(rng.uniform(200, 250)),) * 3
        eu = False
    img = Image.new("RGB", (PLATE_W, PLATE_H), bg)
    chars = Image.new("L", (PLATE_W, PLATE_H), 0)
    d = ImageDraw.Draw(img)
    x0 = 4
    if eu:
        blue = (0, int(rng.uniform(35, 70)), int(rng.uniform(140, 170)))
        d.rectangle([0, 0, BAND_W, PLATE_H], fill=blue)
        draw_star_ring(d, BAND_W / 2, 34, 13, (255, 204, 0))
        nl = font(FONTS[0], 30)
        d.text((BAND_W / 2, 82), "NL", font=nl, fill=(255, 255, 255), anchor="mm")
        x0 = BAND_W
    # The thin dark border line of the field.
    border = fg if rng.random() < 0.8 else bg
    d.rectangle([x0 + 3, 3, PLATE_W - 4, PLATE_H - 4], outline=border, width=2)

    # Half the plates get the Kenteken-like stroke face (kenteken_glyphs.py), a fifth a DIN-like
    # face, the rest a condensed grotesque, so the reader does not hang on one drawing of the
    # characters.
    face = rng.random()
    path = KENTEKEN if face < KENTEKEN_SHARE else rng.choice(DIN_FONTS if face < KENTEKEN_SHARE + DIN_SHARE else FONTS)
    style = kenteken_glyphs.random_style(rng) if path == KENTEKEN else None
    # Character box and spacing vary between plate series and makers: narrow characters with
    # wide gaps as well as wide ones set close.
    char_h = int(rng.uniform(66, 80))
    char_w = int(rng.uniform(34, 48))
    stroke = rng.choice([0, 0, 1, 1, 2])
    dash_w = int(rng.uniform(10, 16))
    gap = int(rng.uniform(4, 16))
    tiles = []
    for ch in text:
        if ch == "-":
            tiles.append(None)
        else:
            tiles.append(glyph(ch, path, char_h, char_w, stroke, fg, style))
    widths = [dash_w + 2 * gap if t is None else t.size[0] for t in tiles]
    total = sum(widths) + gap * (len(tiles) - 1)
    field_l, field_r = x0 + 8, PLATE_W - 8
    scale = min(1.0, (field_r - field_l) / total)
    x = field_l + ((field_r - field_l) - total * scale) / 2
    y = (PLATE_H - char_h) / 2 + rng.uniform(-3, 3)
    k = 0
    for t, w in zip(tiles, widths):
        if t is None:
            dy = PLATE_H / 2 - 4
            d.rectangle([x + gap * scale, dy, x + (gap + dash_w) * scale, dy + rng.uniform(6, 10)], fill=fg)
        else:
            if scale < 1.0:
                t = t.resize((max(2, int(t.size[0] * scale)), t.size[1]), Image.BILINEAR)
            img.paste(t, (int(x), int(y)), t)
            k += 1
            chars.paste(k, (int(x), int(y)), t.getchannel("A").point(lambda a: 255 if a > 127 else 0))
        x += (w + gap) * scale
    # The small duplicate digit some plates carry, low at the right-hand end of the field.
    if rng.random() < 0.3:
        small = font(FONTS[0], int(rng.uniform(11, 16)))
        sx = rng.choice([PLATE_W - rng.uniform(12, 20), x0 + rng.uniform(8, 14)])
        d.text((sx, PLATE_H - 7), rng.choice("123"), font=small, fill=fg, anchor="mb")
    return img, x0, chars


def render_context(rng, plate):
    """Puts the plate on a piece of car: body colour, a holder frame with dealer text, bumper edges."""
    mx, my = 70, 60
    W, H = PLATE_W + 2 * mx, PLATE_H + 2 * my
    body = tuple(int(rng.uniform(0, 255)) for _ in range(3))
    ctx = Image.new("RGB", (W, H), body)
    d = ImageDraw.Draw(ctx)
    for _ in range(rng.randrange(0, 4)):  # bumper edges, grille bars, reflections
        y = rng.uniform(0, H)
        c = tuple(int(min(255, max(0, v + rng.uniform(-90, 90)))) for v in body)
        d.rectangle([0, y, W, y + rng.uniform(2, 30)], fill=c)
    if rng.random() < 0.6:  # holder frame, often with a dealer's name under the plate
        frame = (int(rng.uniform(0, 60)),) * 3
        fw = int(rng.uniform(4, 12))
        fb = int(rng.uniform(fw, 34))
        d.rectangle([mx - fw, my - fw, mx + PLATE_W + fw, my + PLATE_H + fb], fill=frame)
        if fb > 18 and rng.random() < 0.7:
            dealer = "".join(rng.choice("ABCDEFGHIJKLMNOPRSTUVWZ") for _ in range(rng.randrange(6, 16))) + ".NL"
            f = font(rng.choice(FONTS), int(fb * 0.6))
            d.text((W / 2, my + PLATE_H + fb / 2 + fw / 2), dealer, font=f, fill=(230, 230, 230), anchor="mm")
    ctx.paste(plate, (mx, my))
    return ctx, mx, my


def perspective_coeffs(src, dst):
    """PIL's PERSPECTIVE data mapping output points dst[i] to input points src[i]."""
    a = []
    b = []
    for (x, y), (u, v) in zip(dst, src):
        a.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        a.append([0, 0, 0, x, y, 1, -v * x, -v * y])
        b.extend([u, v])
    return np.linalg.solve(np.array(a, dtype=np.float64), np.array(b, dtype=np.float64)).tolist()


def apply_homography(coeffs, pts):
    """Maps output points to input points with PIL's PERSPECTIVE coefficients."""
    a, b, c, d, e, f, g, h = coeffs
    out = []
    for x, y in pts:
        w = g * x + h * y + 1
        out.append(((a * x + b * y + c) / w, (d * x + e * y + f) / w))
    return out


def invert_points(src, dst, pts):
    """Where points of the input (src space) land in the output (dst space)."""
    inv = perspective_coeffs(dst, src)
    return apply_homography(inv, pts)


def dirt_and_glare(rng, img):
    arr = np.asarray(img).astype(np.float32)
    H, W = arr.shape[:2]
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    if rng.random() < 0.35:  # glare: a bright elliptical highlight
        cx, cy = rng.uniform(0, W), rng.uniform(0, H)
        rx, ry = rng.uniform(30, 250), rng.uniform(20, 120)
        g = np.exp(-(((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2)) * rng.uniform(50, 140)
        arr += g[..., None]
    if rng.random() < 0.3:  # shadow edge across the plate
        ang = rng.uniform(0, math.pi)
        off = rng.uniform(-W / 2, W / 2)
        side = (xx - W / 2) * math.cos(ang) + (yy - H / 2) * math.sin(ang) > off
        arr[side] *= rng.uniform(0.35, 0.75)
    if rng.random() < 0.35:  # dirt: dark soft blotches
        for _ in range(rng.randrange(1, 8)):
            cx, cy = rng.uniform(0, W), rng.uniform(0, H)
            r = rng.uniform(4, 30)
            m = np.exp(-(((xx - cx) ** 2 + (yy - cy) ** 2) / (r * r)))
            arr *= (1 - m * rng.uniform(0.2, 0.6))[..., None]
    if rng.random() < 0.2:  # overall grime tint
        arr = arr * rng.uniform(0.75, 0.95) + np.array([20, 15, 5]) * rng.uniform(0, 1)
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))


def occlude(rng, img, quad):
    """Something in front of the plate (tow bar, bike rack, leaf): covers an edge or a corner, not whole characters."""
    d = ImageDraw.Draw(img)
    xs = [p[0] for p in quad]
    ys = [p[1] for p in quad]
    x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
    w, h = x1 - x0, y1 - y0
    c = tuple(int(rng.uniform(0, 255)) for _ in range(3))
    kind = rng.random()
    if kind < 0.4:  # bar across the bottom or top edge
        if rng.random() < 0.5:
            d.rectangle([x0 - 5, y1 - h * rng.uniform(0.05, 0.18), x1 + 5, y1 + 5], fill=c)
        else:
            d.rectangle([x0 - 5, y0 - 5, x1 + 5, y0 + h * rng.uniform(0.05, 0.15)], fill=c)
    elif kind < 0.7:  # a blob on a corner
        cx = x0 if rng.random() < 0.5 else x1
        cy = y0 if rng.random() < 0.5 else y1
        r = h * rng.uniform(0.12, 0.28)
        d.ellipse([cx - r, cy - r, cx + r, cy + r], fill=c)
    else:  # a thin vertical bar (bike rack spoke) over one place
        x = rng.uniform(x0 + w * 0.1, x1 - w * 0.1)
        d.rectangle([x, y0 - 5, x + w * rng.uniform(0.005, 0.015), y1 + 5], fill=c)


def camera(rng, img, plate_w):
    """Sensor and codec: blur, motion, noise, exposure, colour cast, JPEG; sometimes night IR greyscale.

    Degradations are bounded relative to the plate's size in the image, and sample() draws a
    crop again when they still leave a character without contrast, so every crop stays readable
    by a person: a held-out score then measures the reader, not the renderer.
    """
    if rng.random() < 0.7:
        img = img.filter(ImageFilter.GaussianBlur(rng.uniform(0.2, 1.0) * min(1.5, max(0.5, plate_w / 140))))
    arr = np.asarray(img).astype(np.float32)
    if rng.random() < 0.25:  # horizontal motion blur
        k = rng.randrange(2, max(3, min(6, int(plate_w / 40))))
        acc = np.zeros_like(arr)
        for i in range(k):
            acc += np.roll(arr, i - k // 2, axis=1)
        arr = acc / k
    night = rng.random() < 0.15
    if night:
        # IR illuminated: the retro-reflective plate is bright, colour is gone, the rest is dark and noisy.
        g = arr @ np.array([0.3, 0.59, 0.11], dtype=np.float32)
        g = np.clip((g - rng.uniform(0, 60)) * rng.uniform(1.2, 2.2), 0, 255)
        arr = np.repeat(g[..., None], 3, axis=2)
    else:
        cast = np.array([rng.uniform(0.8, 1.2), rng.uniform(0.85, 1.15), rng.uniform(0.75, 1.3)], dtype=np.float32)
        arr = arr * cast
    gain = rng.uniform(0.5, 1.25)
    bias = rng.uniform(-35, 30)
    arr = arr * gain + bias
    if rng.random() < 0.2:  # low contrast haze
        arr = arr * rng.uniform(0.55, 0.8) + rng.uniform(40, 100)
    sigma = rng.uniform(1, 14 if night else 8)
    arr += np.random.default_rng(rng.randrange(1 << 30)).normal(0, sigma, arr.shape).astype(np.float32)
    img = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))
    if rng.random() < 0.8:
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=rng.randrange(35, 90))
        buf.seek(0)
        img = Image.open(buf).convert("RGB")
    return img


# A crop counts as readable when every character stands out from the field around it by at
# least this many times the field's own spread (plus a floor for sensor noise); see legibility().
MIN_LEGIBILITY = 0.5


def sample(rng, negative=False, focus=False):
    """One training crop: returns (uint8 array CROP_H x CROP_W, label).

    focus (training sets only, never validation or held-out): confusable characters more often
    and small plates (60-140 px wide) only, where the reader makes most of its mistakes.

    The degradations are drawn independently, and together they can still wipe out a character
    (glare on a washed-out, hazy plate; dirt, shadow and a dark exposure on a black plate; an
    occluder over a character). Such a crop is drawn again: nobody can read it, so it would only
    teach the reader to guess and make the held-out score measure the renderer.
    """
    while True:
        grey, label, legible = attempt(rng, negative, focus)
        if negative or legible >= MIN_LEGIBILITY:
            return grey, label


def legibility(grey, chars):
    """How well the weakest character of a crop stands out: for each character, the difference
    between the mean of its stroke pixels and the mean of the other pixels in its box, over the
    spread of those field pixels plus 4 grey levels. Characters too small to judge are skipped."""
    g = grey.astype(np.float32)
    worst = math.inf
    for k in range(1, int(chars.max()) + 1):
        ys, xs = np.nonzero(chars == k)
        if len(ys) < 3:
            continue
        box = chars[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
        field = g[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1][box == 0]
        if len(field) < 3:
            continue
        contrast = abs(float(g[ys, xs].mean()) - float(field.mean()))
        worst = min(worst, contrast / (float(field.std()) + 4.0))
    return worst


def attempt(rng, negative, focus):
    """One draw of a crop: (grey, label, legibility of its weakest character)."""
    text = random_plate_text(rng, focus)
    plate, field_x0, chars = render_plate(rng, text)
    plate = dirt_and_glare(rng, plate)
    ctx, mx, my = render_context(rng, plate)
    W, H = ctx.size
    ctx_chars = Image.new("L", (W, H), 0)
    ctx_chars.paste(chars, (mx, my))

    # Camera view: the plate is 60-320 px wide in the frame (log-uniform), with perspective and
    # roll. Wider plates look like 320 px ones once cut down to the 128 px crop.
    target_w = math.exp(rng.uniform(math.log(60), math.log(140 if focus else 320)))
    s = target_w / PLATE_W
    out_w, out_h = int(W * s) + 1, int(H * s) + 1
    roll = math.radians(rng.gauss(0, 4))
    yaw = rng.uniform(-0.25, 0.25)  # left/right side shrinks: horizontal perspective
    pitch = rng.uniform(-0.15, 0.15)
    shear = rng.gauss(0, 0.07)
    cx, cy = out_w / 2, out_h / 2
    src = [(0, 0), (W, 0), (W, H), (0, H)]
    dst = []
    for (x, y) in src:
        u, v = (x - W / 2) * s, (y - H / 2) * s
        u += shear * v
        u, v = u * math.cos(roll) - v * math.sin(roll), u * math.sin(roll) + v * math.cos(roll)
        kx = 1 + yaw * (1 if x > 0 else -1) * 0.5
        ky = 1 + pitch * (1 if y > 0 else -1) * 0.5
        dst.append((cx + u * ky, cy + v * kx))
    coeffs = perspective_coeffs(src, dst)
    view = ctx.transform((out_w, out_h), Image.PERSPECTIVE, coeffs, Image.BILINEAR)
    view_chars = ctx_chars.transform((out_w, out_h), Image.PERSPECTIVE, coeffs, Image.NEAREST)

    # The quad a localiser returns: the whole plate or only the yellow field, corners jittered.
    left = mx + (field_x0 if rng.random() < 0.6 else 0)
    plate_quad = [(left, my), (mx + PLATE_W, my), (mx + PLATE_W, my + PLATE_H), (left, my + PLATE_H)]
    quad = invert_points(src, dst, plate_quad)
    if rng.random() < 0.12:
        occlude(rng, view, quad)
    view = camera(rng, view, target_w)

    qw = math.dist(quad[0], quad[1])
    qh = math.dist(quad[0], quad[3])
    jx, jy = 0.035 * qw, 0.1 * qh
    mxr, myr = rng.uniform(0.0, 0.06) * qw, rng.uniform(0.0, 0.25) * qh
    ux = ((quad[1][0] - quad[0][0]) / qw, (quad[1][1] - quad[0][1]) / qw)
    uy = ((quad[3][0] - quad[0][0]) / qh, (quad[3][1] - quad[0][1]) / qh)
    signs = [(-1, -1), (1, -1), (1, 1), (-1, 1)]
    crop_quad = []
    for (px, py), (sx, sy) in zip(quad, signs):
        # A localiser's box may be loose but does not cut into the characters: the corners move
        # outwards along the plate, and inwards at most a little above and below the characters.
        ex = sx * (mxr + abs(rng.gauss(0, jx)))
        ey = sy * max(-0.04 * qh, myr + rng.gauss(0, jy))
        crop_quad.append((px + ex * ux[0] + ey * uy[0], py + ex * ux[1] + ey * uy[1]))
    label = text
    if negative:
        # No plate: a piece of the car next to it, or the dealer text, or a shifted half plate.
        dx = rng.choice([-1, 1]) * rng.uniform(0.6, 1.2) * qw
        dy = rng.choice([-1, 1, 0]) * rng.uniform(0.7, 1.5) * qh
        crop_quad = [(x + dx * ux[0] + dy * uy[0], y + dx * ux[1] + dy * uy[1]) for x, y in crop_quad]
        label = ""
    rect = [(0, 0), (CROP_W, 0), (CROP_W, CROP_H), (0, CROP_H)]
    to_crop = perspective_coeffs(crop_quad, rect)
    crop = view.transform((CROP_W, CROP_H), Image.PERSPECTIVE, to_crop, Image.BILINEAR)
    grey = np.asarray(crop.convert("L"), dtype=np.uint8)
    if negative:
        return grey, label, 0.0
    crop_chars = np.asarray(view_chars.transform((CROP_W, CROP_H), Image.PERSPECTIVE, to_crop, Image.NEAREST))
    return grey, label, legibility(grey, crop_chars)


def worker(args):
    seed, count, neg_rate, focus_rate = args
    rng = random.Random(seed)
    imgs = np.zeros((count, CROP_H, CROP_W), dtype=np.uint8)
    labels = []
    for i in range(count):
        focus = focus_rate > 0 and rng.random() < focus_rate
        img, label = sample(rng, negative=rng.random() < neg_rate, focus=focus)
        imgs[i] = img
        labels.append(label)
    return imgs, labels


def render_set(count, seed, workers, neg_rate, focus_rate=0.0):
    chunk = 500
    jobs = [(seed * 1_000_003 + k, min(chunk, count - k * chunk), neg_rate, focus_rate) for k in range((count + chunk - 1) // chunk)]
    if workers > 1:
        with mp.Pool(workers) as pool:
            parts = pool.map(worker, jobs)
    else:
        parts = [worker(j) for j in jobs]
    imgs = np.concatenate([p[0] for p in parts])
    labels = [l for p in parts for l in p[1]]
    return imgs, labels


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--count", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--negatives", type=float, default=0.05, help="share of crops with no plate")
    ap.add_argument(
        "--focus",
        type=float,
        default=0.0,
        help="training sets only: share of crops with small plates and confusable characters (M/N/V/H, 8/B, 5/S, 1/7, 0/D, 2/Z)",
    )
    ap.add_argument("--out", required=True, help=".npz (images, labels) or, with --preview, a .png")
    ap.add_argument("--preview", type=int, default=0, help="write a PNG grid of N samples instead")
    ap.add_argument("--raw-dir", help="also write crops.u8 (N x 32 x 128 bytes) and labels.txt (for the evaluation in Node)")
    a = ap.parse_args()
    if not FONTS:
        sys.exit("render_plates: no font found; install fonts-dejavu-core")
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    if a.preview:
        imgs, labels = render_set(a.preview, a.seed, 1, a.negatives)
        cols = 4
        rows = (len(imgs) + cols - 1) // cols
        grid = Image.new("L", (cols * (CROP_W * 2 + 8), rows * (CROP_H * 2 + 20)), 255)
        d = ImageDraw.Draw(grid)
        for i, (im, lab) in enumerate(zip(imgs, labels)):
            x, y = (i % cols) * (CROP_W * 2 + 8), (i // cols) * (CROP_H * 2 + 20)
            grid.paste(Image.fromarray(im).resize((CROP_W * 2, CROP_H * 2)), (x, y))
            d.text((x, y + CROP_H * 2 + 2), lab or "(none)", fill=0)
        grid.save(a.out)
        return
    imgs, labels = render_set(a.count, a.seed, a.workers, a.negatives, a.focus)
    np.savez_compressed(a.out, images=imgs, labels=np.array(labels, dtype=object).astype(str))
    if a.raw_dir:
        os.makedirs(a.raw_dir, exist_ok=True)
        imgs.tofile(os.path.join(a.raw_dir, "crops.u8"))
        with open(os.path.join(a.raw_dir, "labels.txt"), "w") as f:
            f.write("\n".join(labels) + "\n")
    print(f"render_plates: {len(imgs)} crops -> {a.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
