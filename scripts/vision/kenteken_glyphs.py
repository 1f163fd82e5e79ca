"""Kenteken-like characters drawn as strokes, for render_plates.py.

The Dutch plate face ("Kenteken", RDW, on GAIK plates since 2000-2002; before it a condensed
DIN 1451-like face since 1978) is not freely available, and we do not copy font files. Its
characters are simple: monoline strokes of about a seventh of the character height, condensed
(roughly twice as high as wide), flat stroke ends, bowls that are rounded rectangles rather
than ovals, and a few shapes that differ from common sans-serif fonts and so from the stand-in
fonts:

- 1: a long flag from the top, no foot;   7: a flat top and a straight diagonal stem;
- M: vertical sides, the middle vertex anywhere from half height to near the baseline;
- N, V: plain diagonals, V's strokes meet on the baseline;
- B and D have square corners on the stem side, 8 and 0 are round all round;
- 5 has a flat top and a vertical left stroke down to its bowl, S is curved throughout.

Each glyph is a few centre-line paths in a unit box (u right, v down), drawn with a stroke
width, a corner radius and a width that vary per plate, so the reader learns a family of
Kenteken-like shapes rather than one drawing of them. Corners are rounded per vertex with a
quadratic curve; free stroke ends are flat (cut by the character box where they reach it).
"""

from PIL import Image, ImageDraw

SUPER = 4  # supersampling for smooth edges

# A path is (closed, [(u, v, r), ...]) where r is the corner radius at that vertex as a share of
# the centre-line width (0 = sharp). R stands for the plate's roundness, filled in per plate.
R = "R"


def _rect(u0, v0, u1, v1, rl=R, rr=R):
    return (True, [(u0, v0, rl), (u1, v0, rr), (u1, v1, rr), (u0, v1, rl)])


def _open(*pts):
    return (False, list(pts))


def glyph_paths(ch, p):
    """Centre-line paths of one character; p holds the per-plate style parameters."""
    m = p["mid"]  # height of the middle bar / bowl junction, 0.45-0.52
    if ch in "0O":
        return [_rect(0, 0, 1, 1, p["round0"], p["round0"])]
    if ch == "1":
        flag = p["flag1"]
        return [_open((0.62, 1, 0), (0.62, 0, 0), (0.62 - flag[0], flag[1], 0))]
    if ch == "2":
        return [_open((0, 0.22, 0), (0, 0, R), (1, 0, R), (1, 0.42, 0.35), (0, 1, 0), (1, 1, 0))]
    if ch == "3":
        if p["flat3"]:
            return [
                _open((0, 0, 0), (1, 0, 0), (0.38, m - 0.04, 0)),
                _open((0.3, m - 0.04, 0), (1, m - 0.04, R), (1, 1, R), (0, 1, R), (0, 0.8, 0)),
            ]
        return [
            _open((0, 0.2, 0), (0, 0, R), (1, 0, R), (1, m, R), (0.3, m, 0)),
            _open((0.3, m, 0), (1, m, R), (1, 1, R), (0, 1, R), (0, 0.8, 0)),
        ]
    if ch == "4":
        return [_open((0.72, 0, 0), (0, 0.68, 0), (1, 0.68, 0)), _open((0.72, 0, 0), (0.72, 1, 0))]
    if ch == "5":
        return [_open((1, 0, 0), (0, 0, 0), (0, m - 0.04, 0), (1, m - 0.04, R), (1, 1, R), (0, 1, R), (0, 0.82, 0))]
    if ch == "6":
        return [_open((1, 0.2, 0), (1, 0, R), (0, 0, R), (0, 1, R), (1, 1, R), (1, m - 0.02, R), (0, m - 0.02, R))]
    if ch == "9":
        return [_open((0, 0.8, 0), (0, 1, R), (1, 1, R), (1, 0, R), (0, 0, R), (0, 1.02 - m, R), (1, 1.02 - m, R))]
    if ch == "7":
        if p["bent7"]:
            return [_open((0, 0, 0), (1, 0, 0), (0.45, 0.6, 0.2), (0.45, 1, 0))]
        return [_open((0, 0.12, 0), (0, 0, 0), (1, 0, 0), (0.3, 1, 0))] if p["spur7"] else [_open((0, 0, 0), (1, 0, 0), (0.3, 1, 0))]
    if ch == "8":
        n = 0.06
        return [_rect(n, 0, 1 - n, m - 0.02), _rect(0, m - 0.02, 1, 1)]
    if ch == "A":
        return [_open((0, 1, 0), (0.38, 0, 0), (0.62, 0, 0), (1, 1, 0)), _open((0.17, 0.66, 0), (0.83, 0.66, 0))]
    if ch == "B":
        return [_rect(0, 0, 0.9, m - 0.02, 0, R), _rect(0, m - 0.02, 1, 1, 0, R)]
    if ch == "C":
        return [_open((1, 0.2, 0), (1, 0, R), (0, 0, R), (0, 1, R), (1, 1, R), (1, 0.8, 0))]
    if ch == "D":
        return [_rect(0, 0, 1, 1, 0, p["round0"])]
    if ch == "E":
        return [_open((1, 0, 0), (0, 0, 0), (0, 1, 0), (1, 1, 0)), _open((0, m, 0), (0.85, m, 0))]
    if ch == "F":
        return [_open((1, 0, 0), (0, 0, 0), (0, 1, 0)), _open((0, m, 0), (0.85, m, 0))]
    if ch == "G":
        return [_open((1, 0.2, 0), (1, 0, R), (0, 0, R), (0, 1, R), (1, 1, R), (1, 0.52, 0), (0.5, 0.52, 0))]
    if ch == "H":
        return [_open((0, 0, 0), (0, 1, 0)), _open((1, 0, 0), (1, 1, 0)), _open((0, m, 0), (1, m, 0))]
    if ch == "I":
        return [_open((0.5, 0, 0), (0.5, 1, 0))]
    if ch == "J":
        return [_open((1, 0, 0), (1, 1, R), (0, 1, R), (0, 0.72, 0))]
    if ch == "K":
        return [_open((0, 0, 0), (0, 1, 0)), _open((1, 0, 0), (0, 0.62, 0)), _open((0.32, 0.42, 0), (1, 1, 0))]
    if ch == "L":
        return [_open((0, 0, 0), (0, 1, 0), (1, 1, 0))]
    if ch == "M":
        d = p["depthM"]
        return [_open((0, 1, 0), (0, 0, 0), (0.5, d, 0), (1, 0, 0), (1, 1, 0))]
    if ch == "N":
        return [_open((0, 1, 0), (0, 0, 0), (1, 1, 0), (1, 0, 0))]
    if ch == "P":
        return [_open((0, 1, 0), (0, 0, 0), (1, 0, R), (1, m + 0.04, R), (0, m + 0.04, 0))]
    if ch == "Q":
        return [_rect(0, 0, 1, 1, p["round0"], p["round0"]), _open((0.55, 0.7, 0), (1, 1.05, 0))]
    if ch == "R":
        return [_open((0, 1, 0), (0, 0, 0), (1, 0, R), (1, m + 0.02, R), (0, m + 0.02, 0)), _open((0.45, m + 0.02, 0), (1, 1, 0))]
    if ch == "S":
        return [_open((1, 0.2, 0), (1, 0, R), (0, 0, R), (0, m, R), (1, m, R), (1, 1, R), (0, 1, R), (0, 0.8, 0))]
    if ch == "T":
        return [_open((0, 0, 0), (1, 0, 0)), _open((0.5, 0, 0), (0.5, 1, 0))]
    if ch == "U":
        return [_open((0, 0, 0), (0, 1, R), (1, 1, R), (1, 0, 0))]
    if ch == "V":
        return [_open((0, 0, 0), (0.5, 1, 0), (1, 0, 0))]
    if ch == "W":
        return [_open((0, 0, 0), (0.22, 1, 0), (0.5, 0.35, 0), (0.78, 1, 0), (1, 0, 0))]
    if ch == "X":
        return [_open((0, 0, 0), (1, 1, 0)), _open((1, 0, 0), (0, 1, 0))]
    if ch == "Y":
        return [_open((0, 0, 0), (0.5, 0.5, 0), (1, 0, 0)), _open((0.5, 0.5, 0), (0.5, 1, 0))]
    if ch == "Z":
        return [_open((0, 0, 0), (1, 0, 0), (0, 1, 0), (1, 1, 0))]
    raise KeyError(ch)


def random_style(rng):
    """Per-plate style: one plate uses one face, plates differ (makers, series, wear)."""
    return {
        "stroke": rng.uniform(0.12, 0.17),  # stroke width as a share of the character height
        "round": rng.uniform(0.3, 0.6),  # corner radius as a share of the centre-line width
        "round0": rng.uniform(0.45, 0.75),  # rounder 0, O, D
        "mid": rng.uniform(0.46, 0.52),
        "flag1": (rng.uniform(0.3, 0.5), rng.uniform(0.18, 0.34)),
        "flat3": rng.random() < 0.35,
        "bent7": rng.random() < 0.15,
        "spur7": rng.random() < 0.1,
        "depthM": rng.uniform(0.45, 0.9),
    }


def _rounded(closed, pts, cw, ch_, roundness):
    """Centre-line points in pixels with each vertex's corner replaced by a quadratic curve."""
    xy = [(u * cw, v * ch_) for u, v, _ in pts]
    radii = [(roundness if r == R else r) * cw for _, _, r in pts]
    n = len(xy)
    out = []
    for i in range(n):
        if not closed and (i == 0 or i == n - 1) or radii[i] <= 0:
            out.append(xy[i])
            continue
        a, b, c = xy[i - 1], xy[i], xy[(i + 1) % n]
        lab = ((b[0] - a[0]) ** 2 + (b[1] - a[1]) ** 2) ** 0.5
        lbc = ((c[0] - b[0]) ** 2 + (c[1] - b[1]) ** 2) ** 0.5
        d = min(radii[i], lab / 2, lbc / 2)
        if d <= 0.5:
            out.append(b)
            continue
        p0 = (b[0] + (a[0] - b[0]) * d / lab, b[1] + (a[1] - b[1]) * d / lab)
        p2 = (b[0] + (c[0] - b[0]) * d / lbc, b[1] + (c[1] - b[1]) * d / lbc)
        for k in range(9):
            t = k / 8
            out.append(
                (
                    (1 - t) ** 2 * p0[0] + 2 * (1 - t) * t * b[0] + t * t * p2[0],
                    (1 - t) ** 2 * p0[1] + 2 * (1 - t) * t * b[1] + t * t * p2[1],
                )
            )
    if closed:
        # Run on over the start so that its corner gets a joint too, not two butt ends.
        out += [out[0], out[1]]
    return out


def _extend_ends(pts, by, on_box):
    """Flat stroke ends that reach the character box sit on it: push them out by half a stroke
    (the box then cuts them flat). Ends inside the character (junctions) stay where they are."""

    def push(p, q):
        dx, dy = p[0] - q[0], p[1] - q[1]
        l = (dx * dx + dy * dy) ** 0.5 or 1.0
        return (p[0] + dx / l * by, p[1] + dy / l * by)

    first = push(pts[0], pts[1]) if on_box[0] else pts[0]
    last = push(pts[-1], pts[-2]) if on_box[1] else pts[-1]
    return [first] + pts[1:-1] + [last]


def draw_glyph(ch, char_w, char_h, style):
    """Alpha mask ("L", char_w x char_h) of one character in the given style."""
    W, H = char_w * SUPER, char_h * SUPER
    sw = max(2.0, style["stroke"] * H)
    if ch in "1I":
        W = int(W * 0.8)
    img = Image.new("L", (W, H), 0)
    d = ImageDraw.Draw(img)
    cw, chh = W - sw, H - sw
    for closed, pts in glyph_paths(ch, style):
        line = _rounded(closed, pts, cw, chh, style["round"])
        line = [(x + sw / 2, y + sw / 2) for x, y in line]
        if not closed:
            edge = lambda q: q[0] in (0, 1) or q[1] <= 0 or q[1] >= 1  # noqa: E731
            line = _extend_ends(line, sw / 2, (edge(pts[0]), edge(pts[-1])))
        d.line(line, fill=255, width=int(round(sw)), joint="curve")
    return img.resize((max(2, W // SUPER), char_h), Image.LANCZOS)

