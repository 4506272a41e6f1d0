"""Generate the demo data set in the MexCulture142 layout, deterministically from a seed.

Three procedurally drawn architectural styles whose evidence lies in fine texture only:
  Prehispanic: the terraces of a stepped platform (thin horizontal step edges);
  Colonial:    arcades (rows of narrow round-headed arches between columns);
  Modern:      a curtain wall (a fine grid of window frames).
The texture covers the main body of a building whose silhouette (stepped platform, facade with
towers and a dome, tower, plain block), colours and size are drawn independently of its style, so
the outline and the palette say nothing about the class; the texture's period (about 4 to 7 pixels at
the model's 224 x 224 input) is one that the insertion start (Gaussian blur, sigma 5) wipes out.
Beside the labelled building stand one or two buildings of the other styles with a little less
texture (70-92% of its panel's area), as in a street photograph: they speak against the class, and
the class is the style with the most visible texture. Each scene has a random sky and ground,
class-independent clutter (trees, cars, lamp posts, clouds) and sensor noise. `--occlude P` puts 1-3
plain occluders (foliage, a banner, scaffolding) in front of the panels of a share P of the scenes,
for training: then a neighbour can show more texture than the labelled building.

Written per image: the image (images_<split>/<stem>.png), its row in areas_<split>.csv (the share of
the image's pixels that show each style's texture, what train.py --area_labels turns into soft
targets) and, with gaze (the default), the buildings' boxes (boxes/<stem>.txt: one line per
building, `role class x0 y0 x1 y1` in image pixels, inclusive, the labelled building first), the
scanpaths of demo_gaze.N_PARTICIPANTS simulated observers looking at parts of the labelled
building's texture (scanpaths/, MexCulture142's ScanPath naming), their pooled fixations
(fixations/) and the GFDM built from them with core/data.py (Wooding, sigma constants.GFDM_SIGMA_DEMO).
`--n_background N` also writes N scenes without any building (backgrounds_<split>/) for training
under uniform labels.

    python make_demo.py --split test  --n_per_class 4                                # the bundled test split
    python make_demo.py --split train --n_per_class 200 --n_background 150 --occlude 0.8 --no_gaze  # training
"""
import argparse
from pathlib import Path

import cv2
import numpy as np

import constants

from xai_mexculture.core import data
from xai_mexculture.core import demo_gaze
from xai_mexculture.core import image_io

# Building colours, shared by every style: stone, plaster, concrete, glass tints.
PALETTE = [(150, 140, 120), (170, 160, 140), (125, 115, 100), (185, 170, 150), (215, 195, 150),
           (230, 220, 200), (200, 160, 130), (175, 165, 155), (110, 150, 180), (140, 165, 175),
           (100, 130, 120), (150, 150, 160), (200, 200, 205), (120, 120, 125)]
SILHOUETTES = ("stepped", "facade", "tower", "block")
BOX_FOLDER = "boxes"
AREAS_FILE = "areas_{split}.csv"  # per image: the share of its pixels that show each class's texture
N_PARTS = 5  # the points of the labelled texture that the observers look at
NEIGHBOUR_COUNT_P = [0.0, 0.3, 0.7]  # probabilities of 0, 1, 2 buildings of the other styles beside it
NEIGHBOUR_AREA = (0.7, 0.92)  # their textured panel's area, as a share of the labelled one's


def _jitter(rng, color, amount=18):
    return tuple(int(np.clip(c + rng.integers(-amount, amount + 1), 0, 255)) for c in color)


def _pick(rng, palette):
    return _jitter(rng, palette[rng.integers(len(palette))])


def _shade(color, f):
    return tuple(int(np.clip(c * f, 0, 255)) for c in color)


# --------------------------------------------------------------------------- scene
def _background(rng, h, w):
    top = np.array(_pick(rng, [(120, 170, 230), (200, 160, 130), (170, 180, 190), (90, 120, 180)]))
    bottom = np.array(_pick(rng, [(200, 220, 240), (240, 200, 160), (210, 210, 210)]))
    t = np.linspace(0, 1, h)[:, None, None]
    img = (((1 - t) * top + t * bottom) * np.ones((h, w, 3))).astype(np.uint8)
    for _ in range(rng.integers(0, 4)):  # clouds
        cx, cy = int(rng.integers(0, w)), int(rng.integers(0, h // 3))
        cv2.ellipse(img, (cx, cy), (int(rng.integers(15, 45)), int(rng.integers(6, 14))), 0, 0, 360,
                    _jitter(rng, (240, 240, 240), 10), -1)
    horizon = int(h * rng.uniform(0.72, 0.86))
    img[horizon:] = _pick(rng, [(110, 140, 80), (150, 130, 100), (130, 130, 130), (170, 150, 110)])
    return img, horizon


def _clutter(rng, img, horizon, n):
    h, w = img.shape[:2]
    for _ in range(n):
        kind = rng.integers(3)
        x = int(rng.integers(0, w))
        y = int(rng.integers(horizon, h))
        s = rng.uniform(0.6, 1.4)
        if kind == 0:  # tree
            cv2.line(img, (x, y), (x, int(y - 18 * s)), (90, 60, 40), max(1, int(3 * s)))
            cv2.circle(img, (x, int(y - 24 * s)), int(10 * s), _pick(rng, [(50, 110, 50), (70, 130, 60)]), -1)
        elif kind == 1:  # car
            c = _pick(rng, [(180, 40, 40), (40, 60, 160), (200, 200, 200), (40, 40, 40)])
            cv2.rectangle(img, (x, int(y - 8 * s)), (int(x + 22 * s), y), c, -1)
            cv2.rectangle(img, (int(x + 5 * s), int(y - 13 * s)), (int(x + 16 * s), int(y - 8 * s)), c, -1)
        else:  # lamp post
            cv2.line(img, (x, y), (x, int(y - 30 * s)), (60, 60, 60), 2)
            cv2.circle(img, (x, int(y - 30 * s)), 3, (240, 230, 150), -1)


def _noise(rng, img):
    """Sensor noise of a random strength (none to moderate)."""
    noisy = img + rng.normal(0, rng.uniform(0, 6), img.shape)
    return np.clip(np.rint(noisy), 0, 255).astype(np.uint8)


# --------------------------------------------------------------------------- textures
def _texture(rng, class_name, ph, pw):
    """(ph, pw) map in {0, 1} of a style's fine texture (1 = the inlay: openings, panes, risers).
    Every period is at most 9.5 pixels across and 7 down (6.6 at the model's input, where the blur
    keeps less than a tenth of it), and the inlay covers 35-55% of the panel in every style, so
    that blurred, each panel is the same flat patch."""
    yy, xx = np.mgrid[0:ph, 0:pw].astype(np.float64)
    share = rng.uniform(0.35, 0.55)
    if class_name == "Prehispanic":  # step edges: a riser every `period` rows
        period = rng.uniform(5.0, 7.0)
        return (((yy + rng.uniform(0, period)) % period) < period * share).astype(np.float64)
    if class_name == "Modern":  # window grid: panes inside frames
        px, py = rng.uniform(7.0, 9.5), rng.uniform(5.0, 7.0)
        pane = np.sqrt(share)
        fx = ((xx + rng.uniform(0, px)) % px) < px * pane
        fy = ((yy + rng.uniform(0, py)) % py) < py * pane
        return (fx & fy).astype(np.float64)
    # Colonial arcade: tall round-headed openings between columns
    px = rng.uniform(7.0, 9.5)
    r = px * share / 2
    u = (xx + rng.uniform(0, px)) % px - px / 2  # horizontal offset from the arch axis
    top = rng.uniform(1.0, 3.0) + r  # the centre of the round heads, below the panel's top
    shaft = (np.abs(u) <= r) & (yy >= top)
    head = u ** 2 + (yy - top) ** 2 <= r ** 2
    return (shaft | head).astype(np.float64)


# --------------------------------------------------------------------------- buildings
def _building(rng, class_name, cx, base_y, bw, bh, pw, ph, shape):
    """Draw one building into a canvas; returns (colour (H, W, 3) float, mask (H, W) bool,
    panel (x0, y0, x1, y1)). A plain body bw x bh stands on the base line with the style's texture
    on a pw x ph panel in its middle; the silhouette around it (towers,
    a dome, terraces, a shaft or a roof) is drawn in plain colours and does not depend on the style."""
    h, w = shape
    canvas = np.zeros((h, w, 3), np.float64)
    mask = np.zeros((h, w), np.uint8)
    color = _pick(rng, PALETTE)
    bx0, bx1, by0, by1 = cx - bw / 2, cx + bw / 2, base_y - bh, base_y

    def part(draw, col):
        draw(canvas, col)
        draw(mask, 1)

    def rect(x0, y0, x1, y1, col):
        part(lambda c, v: cv2.rectangle(c, (int(round(x0)), int(round(y0))), (int(round(x1)) - 1, int(round(y1)) - 1),
                                        v, -1), col)

    kind = SILHOUETTES[rng.integers(len(SILHOUETTES))]
    if kind == "stepped":  # terraces narrowing upwards on the body, a shrine on top
        top = by0
        for i in range(int(rng.integers(1, 4))):
            inset = bw * rng.uniform(0.08, 0.14) * (i + 1)
            th = bh * rng.uniform(0.1, 0.16)
            rect(bx0 + inset, top - th, bx1 - inset, top + 1, _shade(color, 1 - 0.07 * (i + 1)))
            top -= th
        sw = bw * rng.uniform(0.15, 0.3)
        rect(cx - sw / 2, top - bh * rng.uniform(0.12, 0.25), cx + sw / 2, top + 1, _shade(color, 0.85))
    elif kind == "facade":  # towers on the sides, a dome on top
        tw = bw * rng.uniform(0.12, 0.18)
        for tx in ([bx0 - tw * 0.5, bx1 - tw * 0.5] if rng.random() < 0.7 else [bx0 - tw * 0.5]):
            t_top = by0 - bh * rng.uniform(0.25, 0.5)
            rect(tx, t_top, tx + tw, by1, _shade(color, rng.uniform(0.85, 1.0)))
            part(lambda c, v: cv2.ellipse(c, (int(tx + tw / 2), int(t_top)), (int(tw / 2), int(tw * 0.6)),
                                          0, 180, 360, v, -1), _shade(color, 0.75))
        r = bw * rng.uniform(0.14, 0.22)
        part(lambda c, v: cv2.ellipse(c, (int(cx), int(by0)), (int(r), int(r * 1.1)), 0, 180, 360, v, -1),
             _shade(color, 0.8))
    elif kind == "tower":  # a plain shaft above the body, maybe an antenna
        th = bh * rng.uniform(0.3, 0.6)
        sw = bw * rng.uniform(0.5, 0.8)
        rect(cx - sw / 2, by0 - th, cx + sw / 2, by0 + 1, _shade(color, rng.uniform(0.85, 1.1)))
        if rng.random() < 0.6:
            part(lambda c, v: cv2.line(c, (int(cx), int(by0 - th)), (int(cx), int(by0 - th * 1.3)), v, 2), (70, 70, 70))
    else:  # a plain block with a gable or a flat roof
        if rng.random() < 0.5:
            roof = np.array([[bx0 - 4, by0], [bx1 + 4, by0], [cx, by0 - bh * rng.uniform(0.2, 0.35)]], np.int32)
            part(lambda c, v: cv2.fillPoly(c, [roof], v), _shade(color, 0.7))
        else:
            rect(bx0 - 3, by0 - 6, bx1 + 3, by0 + 1, _shade(color, 0.7))
    rect(bx0, by0, bx1, by1, color)
    # the textured panel
    pcy = by0 + bh * rng.uniform(0.45, 0.55)
    x0, y0 = int(round(cx - pw / 2)), int(round(pcy - ph / 2))
    x1, y1 = x0 + int(round(pw)), y0 + int(round(ph))
    tex = _texture(rng, class_name, y1 - y0, x1 - x0)
    wall = np.array(_shade(color, rng.uniform(0.95, 1.1)), np.float64)
    if rng.random() < 0.5 and wall.mean() < 170:  # the texture lighter than the wall ...
        inlay = wall + (255 - wall) * rng.uniform(0.55, 0.8)
    else:  # ... or darker
        inlay = wall * rng.uniform(0.35, 0.55)
    cx0, cy0, cx1, cy1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
    if cx1 > cx0 and cy1 > cy0:
        t = tex[cy0 - y0:cy1 - y0, cx0 - x0:cx1 - x0, None]
        canvas[cy0:cy1, cx0:cx1] = wall * (1 - t) + inlay * t
    return canvas, mask.astype(bool), (x0, y0, x1, y1)


def _box(mask):
    ys, xs = np.nonzero(mask)
    return int(xs.min()), int(ys.min()), int(xs.max()), int(ys.max())


def _place(img, canvas, mask, haze=None):
    """Paint a building's canvas into img where mask is set; haze (colour, k) keeps k of its
    contrast against the colour (aerial perspective: a distant building's texture fades)."""
    if haze is not None:
        color, k = haze
        canvas = color + (canvas - color) * k
    img[mask] = np.clip(canvas[mask], 0, 255).astype(np.uint8)


def _occlude(rng, img, owner, panels):
    """1-3 plain occluders (foliage, a banner, scaffolding) in front of panels: each covers 30-100%
    of a random panel's width and height, and the texture behind it shows nowhere (owner -1)."""
    h, w = owner.shape
    for _ in range(int(rng.integers(1, 4))):
        x0, y0, x1, y1 = panels[int(rng.integers(len(panels)))]
        ow, oh = (x1 - x0) * rng.uniform(0.3, 1.0), (y1 - y0) * rng.uniform(0.3, 1.0)
        ox, oy = rng.uniform(x0 - ow * 0.3, x1 - ow * 0.7), rng.uniform(y0 - oh * 0.3, y1 - oh * 0.7)
        color = _pick(rng, PALETTE + [(60, 110, 50), (80, 130, 60), (190, 60, 50)])
        r0, r1, c0, c1 = int(max(oy, 0)), int(min(oy + oh, h)), int(max(ox, 0)), int(min(ox + ow, w))
        if r1 > r0 and c1 > c0:
            img[r0:r1, c0:c1] = color
            owner[r0:r1, c0:c1] = -1


def texture_areas(owner) -> dict:
    """{class: share of the image's pixels that show its texture} from an owner map."""
    return {c: float(np.mean(owner == k)) for k, c in enumerate(constants.CLASS_NAMES)}


def generate_sample(rng, class_name, shape=constants.DEMO_IMAGE_SIZE, occlude=0.0):
    """One demo image (uint8 RGB (H, W, 3)), its fixations ((N, 2) x, y), the buildings' boxes
    [(role, class, x0, y0, x1, y1)] with role "labelled" (first), "neighbour" or "distant", and the
    owner map ((H, W) int8: the index of the class whose textured panel each pixel shows, -1 none;
    distant buildings' faint texture counts as none, clutter in front is not tracked).
    class_name None: a scene without any building. occlude: the probability of occluders in front of
    the panels (training splits; 0 draws nothing, so the other images stay the same)."""
    h, w = shape
    img, horizon = _background(rng, h, w)
    _clutter(rng, img, horizon, int(rng.integers(0, 3)))  # behind the buildings
    if class_name is None:
        _clutter(rng, img, horizon, int(rng.integers(1, 4)))
        return _noise(rng, img), [], [], np.full((h, w), -1, np.int8)
    base = lambda: horizon + rng.uniform(0, (h - horizon) * 0.5)  # noqa: E731
    boxes = []
    # distant buildings of any style on the horizon, faded by haze: faint texture is no evidence
    sky = img[max(horizon - 3, 0)].mean(axis=0)
    for _ in range(int(rng.integers(0, 5))):
        f = rng.uniform(0.25, 0.55)
        style = constants.CLASS_NAMES[rng.integers(len(constants.CLASS_NAMES))]
        canvas, mask, _ = _building(rng, style, rng.uniform(0, w), horizon + rng.uniform(-8, 0),
                                    w * f, h * f, w * f * 0.5, h * f * 0.5, shape)
        _place(img, canvas, mask, (sky, rng.uniform(0.15, 0.6)))
        if mask.any():
            boxes.append(("distant", style) + _box(mask))
    # a row of buildings: the labelled one and 1-2 of the other styles, in random order, each
    # other one with less texture (NEIGHBOUR_AREA of the labelled panel's area) on a narrower body
    bw, bh = w * rng.uniform(0.38, 0.5), h * rng.uniform(0.42, 0.58)
    pw, ph = bw * rng.uniform(0.35, 0.6), bh * rng.uniform(0.35, 0.6)
    row = [(class_name, bw, bh, pw, ph)]
    others = rng.permutation([c for c in constants.CLASS_NAMES if c != class_name])
    for other in others[:int(rng.choice([0, 1, 2], p=NEIGHBOUR_COUNT_P))]:
        k = np.sqrt(rng.uniform(*NEIGHBOUR_AREA))
        obh = bh * rng.uniform(0.6, 1.0)
        o_ph = min(ph * k, obh * 0.75)
        o_pw = pw * k * k * ph / o_ph  # the area ratio k ** 2 kept
        row.append((other, max(o_pw / 0.75, bw * rng.uniform(0.45, 0.75)), obh, o_pw, o_ph))
    order = rng.permutation(len(row))
    gaps = [w * rng.uniform(-0.05, 0.03) for _ in row]  # overlaps stay clear of the panels
    lefts, x = [], 0.0
    for i in order:
        lefts.append(x)
        x += row[i][1] + gaps[i]
    # the row about centred, shifted where needed so that the labelled building is whole in the frame
    li = int(np.flatnonzero(order == 0)[0])
    lo, hi = -lefts[li] + 2, w - lefts[li] - bw - 2
    shift = float(np.clip((w - x) / 2 + w * rng.uniform(-0.1, 0.1), lo, max(lo, hi)))
    owner = np.full((h, w), -1, np.int8)  # the style whose textured panel each pixel shows
    drawn_panels = []
    for j in rng.permutation(len(order)):  # drawing order: who hides whom is no clue
        i = order[j]
        style, b_w, b_h, p_w, p_h = row[i]
        canvas, mask, panel_i = _building(rng, style, lefts[j] + shift + b_w / 2, base(), b_w, b_h, p_w, p_h, shape)
        _place(img, canvas, mask)
        owner[mask] = -1
        drawn_panels.append(panel_i)
        px0, py0, px1, py1 = panel_i
        rows, cols = slice(max(py0, 0), max(py1, 0)), slice(max(px0, 0), max(px1, 0))
        owner[rows, cols][mask[rows, cols]] = constants.CLASS_NAMES.index(style)
        if i == 0:
            panel, main_mask = panel_i, mask
        elif mask.any():
            boxes.append(("neighbour", style) + _box(mask))
    mask = main_mask
    if occlude > 0 and rng.random() < occlude:
        _occlude(rng, img, owner, drawn_panels)
    boxes.insert(0, ("labelled", class_name) + _box(mask))
    _clutter(rng, img, horizon, int(rng.integers(0, 3)))  # in front
    img = _noise(rng, img)
    # the observers look at parts of the labelled building's texture (demo_gaze: aim error, strays)
    x0, y0, x1, y1 = panel
    parts = np.column_stack([rng.uniform(x0, x1, N_PARTS), rng.uniform(y0, y1, N_PARTS)])
    participants = demo_gaze.simulate(rng, parts, shape)
    return img, participants, boxes, owner


def sample_name(class_name, split, index):
    """MexCulture-style stem SSS_XXX_YYY_N_# of a demo image."""
    return f"{class_name}_Demo{split.capitalize()}{index:03d}_Synthetic_N_1"


def write_boxes(path, boxes):
    rows = "".join(f"{role} {c} {x0} {y0} {x1} {y1}\n" for role, c, x0, y0, x1, y1 in boxes)
    Path(path).write_text("# role class x0 y0 x1 y1 (image pixels, inclusive); the labelled building first\n"
                          + rows)


def read_boxes(path):
    """The boxes file of an image: [(role, class, x0, y0, x1, y1)], the labelled building first."""
    rows = []
    for line in Path(path).read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            role, c, *xy = line.split()
            rows.append((role, c) + tuple(int(v) for v in xy))
    return rows


def write_areas(path, areas):
    """An areas_<split>.csv from {stem: texture_areas(...)}: a header stem,<classes>, then a row per image."""
    lines = ["stem," + ",".join(constants.CLASS_NAMES)]
    lines += [f"{stem}," + ",".join(f"{a[c]:.6f}" for c in constants.CLASS_NAMES) for stem, a in areas.items()]
    Path(path).write_text("\n".join(lines) + "\n")


def read_areas(path) -> dict:
    """An areas_<split>.csv (generate_split) as {stem: [share of each class in CLASS_NAMES order]};
    SystemExit naming the file and line for anything else."""
    path = Path(path)
    if not path.is_file():
        raise SystemExit(f"{path}: no such file")
    lines = path.read_text().splitlines()
    if not lines or lines[0].split(",")[1:] != list(constants.CLASS_NAMES):
        raise SystemExit(f"{path}: expected the header stem,{','.join(constants.CLASS_NAMES)}")
    rows = {}
    for n, line in enumerate(lines[1:], 2):
        stem, *vals = line.split(",")
        try:
            rows[stem] = [float(v) for v in vals]
        except ValueError:
            raise SystemExit(f"{path}, line {n}: not numbers: {line}") from None
        if len(vals) != len(constants.CLASS_NAMES):
            raise SystemExit(f"{path}, line {n}: {len(vals)} areas, expected {len(constants.CLASS_NAMES)}")
    return rows


def generate_split(out_dir, split, n_per_class, seed=constants.DEMO_SEED,
                   sigma=constants.GFDM_SIGMA_DEMO, with_gaze=True, n_background=0, occlude=0.0):
    """Write n_per_class images per class to out_dir/images_<split>; with_gaze also writes the
    fixation files to out_dir/fixations, the GFDMs to out_dir/gazefixationsdensitymaps and the
    buildings' boxes to out_dir/boxes; n_background scenes without a building go to
    out_dir/backgrounds_<split>; out_dir/areas_<split>.csv gets each image's texture areas
    (texture_areas: the targets of train.py --area_labels); occlude: see generate_sample. Each image
    draws from its own generator seeded by
    (seed, split, class, index)."""
    out = Path(out_dir)
    img_dir, box_dir = out / f"images_{split}", out / BOX_FOLDER
    fix_dir, gfdm_dir = out / "fixations", out / "gazefixationsdensitymaps"
    scan_dir = out / constants.DEMO_TEST_SCANPATHS.name
    for d in (img_dir,) + ((fix_dir, gfdm_dir, box_dir, scan_dir) if with_gaze else ()):
        d.mkdir(parents=True, exist_ok=True)
    split_id = sum(map(ord, split))
    written, area_rows = [], {}
    for ci, class_name in enumerate(constants.CLASS_NAMES):
        for i in range(n_per_class):
            rng = np.random.default_rng([seed, split_id, ci, i])
            img, participants, boxes, owner = generate_sample(rng, class_name, occlude=occlude)
            stem = sample_name(class_name, split, i + 1)
            area_rows[stem] = texture_areas(owner)
            image_io.save_png(img_dir / f"{stem}.png", img)
            if with_gaze:
                write_boxes(box_dir / f"{stem}.txt", boxes)
                demo_gaze.write(scan_dir, stem, participants)
                pooled = np.concatenate(participants)  # all observers: the image's fixation file
                pooled[:, :2] = np.round(pooled[:, :2], 1)  # as written in the scanpath files
                rows = "".join(f"{x:.1f} {y:.1f} {round(d * 1000)}\n" for x, y, d in pooled)
                (fix_dir / f"{data.fixation_stem(stem)}.txt").write_text("# x y duration_ms\n" + rows)
                gfdm = data.gfdm_from_fixations(pooled, img.shape[:2], sigma)
                cv2.imwrite(str(gfdm_dir / f"{data.gfdm_stem(stem)}.png"), np.rint(gfdm * 255).astype(np.uint8))
            written.append(img_dir / f"{stem}.png")
    write_areas(out / AREAS_FILE.format(split=split), area_rows)
    if n_background:
        bg_dir = out / f"backgrounds_{split}"
        bg_dir.mkdir(parents=True, exist_ok=True)
        for i in range(n_background):
            rng = np.random.default_rng([seed, split_id, len(constants.CLASS_NAMES), i])
            img, _, _, _ = generate_sample(rng, None)
            image_io.save_png(bg_dir / f"Background_Demo{split.capitalize()}{i + 1:03d}.png", img)
    return written


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out_dir", default=str(constants.DEMO_DIR))
    parser.add_argument("--split", default="test", help="split name: images go to images_<split>")
    parser.add_argument("--n_per_class", type=int, default=constants.DEMO_N_TEST_PER_CLASS)
    parser.add_argument("--n_background", type=int, default=0,
                        help="scenes without a building, written to backgrounds_<split>")
    parser.add_argument("--seed", type=int, default=constants.DEMO_SEED)
    parser.add_argument("--occlude", type=float, default=0.0,
                        help="share of the scenes with occluders in front of the panels (training splits)")
    parser.add_argument("--no_gaze", action="store_true", help="images only (for a training split)")
    args = parser.parse_args(argv)
    if not 0.0 <= args.occlude <= 1.0:
        parser.error(f"--occlude {args.occlude}: a share of the scenes, between 0 and 1")
    paths = generate_split(args.out_dir, args.split, args.n_per_class, args.seed, with_gaze=not args.no_gaze,
                           n_background=args.n_background, occlude=args.occlude)
    print(f"wrote {len(paths)} images to {Path(args.out_dir) / ('images_' + args.split)}"
          + (f" and {args.n_background} backgrounds" if args.n_background else ""))


if __name__ == "__main__":
    main()
