"""Generate the demo data set in the MexCulture142 layout, deterministically from a seed.

Three procedurally drawn architectural styles that can be told apart only by the building:
  Prehispanic: stepped pyramid with a central staircase and a temple on top;
  Colonial:    church facade with arched doorways, a dome and bell towers;
  Modern:      glass tower with a window grid.
Each building sits at a random position and scale over a random sky and ground, with
class-independent clutter (trees, cars, lamp posts, clouds) and colours drawn from palettes that
overlap between classes. Every image gets a fixation file (points on the building's
discriminative parts plus a few stray fixations) and a GFDM built from it with data.py (Wooding).

    python make_demo.py --split test  --n_per_class 4    # the bundled test split
    python make_demo.py --split train --n_per_class 200  # the demo model's training split
"""
import argparse
from pathlib import Path

import cv2
import numpy as np

import constants
import data
import utils

STONE = [(150, 140, 120), (170, 160, 140), (125, 115, 100), (185, 170, 150), (140, 120, 100)]
PLASTER = [(215, 195, 150), (230, 220, 200), (200, 160, 130), (175, 165, 155), (190, 175, 140)]
GLASS = [(110, 150, 180), (90, 120, 140), (140, 165, 175), (100, 130, 120), (150, 150, 160)]
SHARED = [(160, 150, 140), (180, 170, 160), (140, 140, 145)]  # used by every style


def _jitter(rng, color, amount=18):
    return tuple(int(np.clip(c + rng.integers(-amount, amount + 1), 0, 255)) for c in color)


def _pick(rng, palette):
    return _jitter(rng, palette[rng.integers(len(palette))])


def _darker(color, f=0.6):
    return tuple(int(c * f) for c in color)


def _background(rng, h, w):
    top = np.array(_pick(rng, [(120, 170, 230), (200, 160, 130), (170, 180, 190), (90, 120, 180)]))
    bottom = np.array(_pick(rng, [(200, 220, 240), (240, 200, 160), (210, 210, 210)]))
    t = np.linspace(0, 1, h)[:, None, None]
    img = ((1 - t) * top + t * bottom) * np.ones((h, w, 3))
    img = img.astype(np.uint8)
    for _ in range(rng.integers(0, 4)):  # clouds
        cx, cy = int(rng.integers(0, w)), int(rng.integers(0, h // 3))
        cv2.ellipse(img, (cx, cy), (int(rng.integers(15, 45)), int(rng.integers(6, 14))), 0, 0, 360,
                    _jitter(rng, (240, 240, 240), 10), -1)
    horizon = int(h * rng.uniform(0.72, 0.86))
    ground = _pick(rng, [(110, 140, 80), (150, 130, 100), (130, 130, 130), (170, 150, 110)])
    img[horizon:] = ground
    noise = rng.normal(0, 6, img.shape)
    img = np.clip(img + noise, 0, 255).astype(np.uint8)
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


def _pyramid(rng, img, cx, base_y, size):
    """Stepped pyramid; returns the discriminative points (temple, staircase, step edges)."""
    color = _pick(rng, STONE + SHARED)
    levels = int(rng.integers(4, 7))
    width, height = size * rng.uniform(1.1, 1.5), size
    level_h = height * 0.8 / levels
    points = []
    for i in range(levels):
        f = 1 - i / (levels + 1.5)
        half = width * f / 2
        y1, y0 = base_y - i * level_h, base_y - (i + 1) * level_h
        cv2.rectangle(img, (int(cx - half), int(y0)), (int(cx + half), int(y1)), _jitter(rng, color, 8), -1)
        cv2.line(img, (int(cx - half), int(y0)), (int(cx + half), int(y0)), _darker(color), 2)
        if i % 2 == 1:
            points.append((cx + rng.choice([-1, 1]) * half * 0.8, (y0 + y1) / 2))
    top = base_y - levels * level_h
    stair = width * 0.09
    cv2.rectangle(img, (int(cx - stair), int(top)), (int(cx + stair), int(base_y)), _darker(color, 0.75), -1)
    for y in np.arange(top, base_y, 4):
        cv2.line(img, (int(cx - stair), int(y)), (int(cx + stair), int(y)), _darker(color, 0.5), 1)
    temple_w, temple_h = width * 0.16, height * 0.2
    cv2.rectangle(img, (int(cx - temple_w), int(top - temple_h)), (int(cx + temple_w), int(top)), _jitter(rng, color), -1)
    cv2.rectangle(img, (int(cx - temple_w * 0.3), int(top - temple_h * 0.6)), (int(cx + temple_w * 0.3), int(top)), (40, 30, 25), -1)
    points += [(cx, top - temple_h / 2), (cx, top - temple_h / 2), (cx, (top + base_y) / 2)]
    return points


def _arch(img, x0, x1, y_bottom, height, color):
    r = (x1 - x0) / 2
    cv2.rectangle(img, (int(x0), int(y_bottom - height + r)), (int(x1), int(y_bottom)), color, -1)
    cv2.ellipse(img, (int((x0 + x1) / 2), int(y_bottom - height + r)), (int(r), int(r)), 0, 180, 360, color, -1)


def _colonial(rng, img, cx, base_y, size):
    """Church facade with arches, a dome and bell towers; returns discriminative points."""
    color = _pick(rng, PLASTER + SHARED)
    width, height = size * rng.uniform(1.0, 1.4), size * 0.55
    x0, x1, top = cx - width / 2, cx + width / 2, base_y - height
    cv2.rectangle(img, (int(x0), int(top)), (int(x1), int(base_y)), color, -1)
    dome_r = width * rng.uniform(0.16, 0.22)
    cv2.ellipse(img, (int(cx), int(top)), (int(dome_r), int(dome_r * 1.1)), 0, 180, 360, _darker(color, 0.85), -1)
    cv2.line(img, (int(cx), int(top - dome_r * 1.1)), (int(cx), int(top - dome_r * 1.1 - 12)), (60, 50, 40), 2)
    cv2.line(img, (int(cx - 4), int(top - dome_r * 1.1 - 8)), (int(cx + 4), int(top - dome_r * 1.1 - 8)), (60, 50, 40), 2)
    points = [(cx, top - dome_r * 0.6)]
    tower_w = width * 0.14
    towers = [x0, x1 - tower_w] if rng.random() < 0.75 else [x0]
    for tx in towers:
        t_top = top - height * rng.uniform(0.5, 0.8)
        cv2.rectangle(img, (int(tx), int(t_top)), (int(tx + tower_w), int(base_y)), _jitter(rng, color, 6), -1)
        _arch(img, tx + tower_w * 0.25, tx + tower_w * 0.75, t_top + tower_w * 1.2, tower_w * 0.8, (50, 40, 35))
        cv2.ellipse(img, (int(tx + tower_w / 2), int(t_top)), (int(tower_w / 2), int(tower_w * 0.6)), 0, 180, 360, _darker(color, 0.8), -1)
        points.append((tx + tower_w / 2, t_top + tower_w * 0.7))
    n_arch = int(rng.integers(1, 4))
    span = (x1 - x0 - 2 * tower_w) / n_arch
    for i in range(n_arch):
        ax0 = x0 + tower_w + span * (i + 0.25)
        _arch(img, ax0, ax0 + span * 0.5, base_y, height * 0.6, (60, 45, 35))
        points.append((ax0 + span * 0.25, base_y - height * 0.3))
    return points


def _modern(rng, img, cx, base_y, size):
    """Glass tower with a window grid; returns discriminative points."""
    frame = _pick(rng, SHARED + [(200, 200, 205), (90, 90, 95)])
    glass = _pick(rng, GLASS)
    width, height = size * rng.uniform(0.35, 0.55), size * rng.uniform(1.0, 1.3)
    x0, top = cx - width / 2, base_y - height
    cv2.rectangle(img, (int(x0), int(top)), (int(x0 + width), int(base_y)), frame, -1)
    cols, rows = int(rng.integers(3, 6)), int(rng.integers(8, 14))
    cw, rh = width / cols, height / rows
    for r in range(rows):
        for c in range(cols):
            shade = _jitter(rng, glass, 12)
            cv2.rectangle(img, (int(x0 + c * cw + 2), int(top + r * rh + 2)),
                          (int(x0 + (c + 1) * cw - 2), int(top + (r + 1) * rh - 2)), shade, -1)
    points = [(cx, top + height * f) for f in (0.15, 0.35, 0.55)]
    if rng.random() < 0.6:
        cv2.line(img, (int(cx), int(top)), (int(cx), int(top - height * 0.12)), (70, 70, 70), 2)
        points.append((cx, top))
    if rng.random() < 0.5:  # lower annex block
        ax = x0 + width if rng.random() < 0.5 else x0 - width * 0.6
        cv2.rectangle(img, (int(ax), int(base_y - height * 0.3)), (int(ax + width * 0.6), int(base_y)), frame, -1)
        for c in range(3):
            cv2.rectangle(img, (int(ax + c * width * 0.2 + 2), int(base_y - height * 0.25)),
                          (int(ax + (c + 1) * width * 0.2 - 2), int(base_y - height * 0.05)), glass, -1)
    return points


DRAW = {"Prehispanic": _pyramid, "Colonial": _colonial, "Modern": _modern}


def generate_sample(rng, class_name, shape=constants.DEMO_IMAGE_SIZE):
    """One demo image (uint8 RGB, shape (H, W, 3)) and its fixations ((N, 2) x, y)."""
    h, w = shape
    img, horizon = _background(rng, h, w)
    _clutter(rng, img, horizon, int(rng.integers(0, 3)))  # behind the building
    size = h * rng.uniform(0.35, 0.6)
    cx = rng.uniform(0.3, 0.7) * w
    base_y = horizon + rng.uniform(0, (h - horizon) * 0.5)
    parts = DRAW[class_name](rng, img, cx, base_y, size)
    _clutter(rng, img, horizon, int(rng.integers(1, 4)))  # in front
    fix = []
    for x, y in parts:
        for _ in range(int(rng.integers(1, 4))):
            fix.append((x + rng.normal(0, 4), y + rng.normal(0, 4)))
    for _ in range(int(rng.integers(1, 4))):  # stray fixations
        fix.append((rng.uniform(0, w), rng.uniform(0, h)))
    fix = np.array(fix)
    fix[:, 0] = np.clip(fix[:, 0], 0, w - 1)
    fix[:, 1] = np.clip(fix[:, 1], 0, h - 1)
    return img, fix


def sample_name(class_name, split, index):
    """MexCulture-style stem SSS_XXX_YYY_N_# of a demo image."""
    return f"{class_name}_Demo{split.capitalize()}{index:03d}_Synthetic_N_1"


def generate_split(out_dir, split, n_per_class, seed=constants.DEMO_SEED,
                   sigma=constants.GFDM_SIGMA_DEMO, with_gaze=True):
    """Write n_per_class images per class to out_dir/images_<split>; with_gaze also writes the
    fixation files to out_dir/fixations and the GFDMs to out_dir/gazefixationsdensitymaps.
    Each image draws from its own generator seeded by (seed, split, class, index)."""
    out = Path(out_dir)
    img_dir = out / f"images_{split}"
    fix_dir, gfdm_dir = out / "fixations", out / "gazefixationsdensitymaps"
    for d in (img_dir,) + ((fix_dir, gfdm_dir) if with_gaze else ()):
        d.mkdir(parents=True, exist_ok=True)
    split_id = sum(map(ord, split))
    written = []
    for ci, class_name in enumerate(constants.CLASS_NAMES):
        for i in range(n_per_class):
            rng = np.random.default_rng([seed, split_id, ci, i])
            img, fix = generate_sample(rng, class_name)
            stem = sample_name(class_name, split, i + 1)
            utils.save_png(img_dir / f"{stem}.png", img)
            if with_gaze:
                durations = rng.integers(150, 600, len(fix))
                rows = "\n".join(f"{x:.1f} {y:.1f} {d}" for (x, y), d in zip(fix, durations))
                (fix_dir / f"{data.fixation_stem(stem)}.txt").write_text("# x y duration_ms\n" + rows + "\n")
                gfdm = data.gfdm_from_fixations(fix, img.shape[:2], sigma)
                cv2.imwrite(str(gfdm_dir / f"{data.gfdm_stem(stem)}.png"), np.rint(gfdm * 255).astype(np.uint8))
            written.append(img_dir / f"{stem}.png")
    return written


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out_dir", default=str(constants.DEMO_DIR))
    parser.add_argument("--split", default="test", help="split name: images go to images_<split>")
    parser.add_argument("--n_per_class", type=int, default=constants.DEMO_N_TEST_PER_CLASS)
    parser.add_argument("--seed", type=int, default=constants.DEMO_SEED)
    parser.add_argument("--no_gaze", action="store_true", help="images only (for a training split)")
    args = parser.parse_args(argv)
    paths = generate_split(args.out_dir, args.split, args.n_per_class, args.seed, with_gaze=not args.no_gaze)
    print(f"wrote {len(paths)} images to {Path(args.out_dir) / ('images_' + args.split)}")


if __name__ == "__main__":
    main()
