"""The properties that make the demo exercise the metrics, measured on a demo split and model:
the class probability of each image, of its insertion start (causal.blur) and of an all-black
image; RISE's raw map (the mean masked class probability, before the division by its maximum) at
the defaults, its contrast (minimum / maximum) and the share of its top-20% pixels inside the
labelled building's box. tests/cli/test_demo_checks.py asserts them; `python -m xai_mexculture.cli.demo_checks`
prints them.
"""
import argparse
import math
from pathlib import Path

import numpy as np

import constants

from xai_mexculture.cli import make_demo
from xai_mexculture.core import data
from xai_mexculture.core import image_io
from xai_mexculture.core import model_io

TOP_FRACTION = 0.2


def scale_box(box, shape, size=constants.INPUT_SIZE):
    """A box (x0, y0, x1, y1), inclusive pixels of an image of shape (H, W), in the pixels of the
    model input that image_io.fit_image resizes it to: every pixel the box overlaps."""
    x0, y0, x1, y1 = box
    sy, sx = size[0] / shape[0], size[1] / shape[1]
    return (int(math.floor(x0 * sx)), int(math.floor(y0 * sy)),
            min(int(math.ceil((x1 + 1) * sx)) - 1, size[1] - 1), min(int(math.ceil((y1 + 1) * sy)) - 1, size[0] - 1))


def load_split(images=constants.DEMO_TEST_IMAGES, boxes=constants.DEMO_DIR / make_demo.BOX_FOLDER):
    """[(name, model input (224, 224, 3), class index, labelled building's box in model pixels)]."""
    out = []
    for path in data.list_images(images):
        original = image_io.read_rgb(path)
        labelled = make_demo.read_boxes(Path(boxes) / f"{path.stem}.txt")[0]
        out.append((path.name, image_io.fit_image(original), data.class_index(path.name),
                    scale_box(labelled[2:], original.shape[:2])))
    return out


def class_probabilities(model, images, classes) -> np.ndarray:
    probs = model_io.predict_batched(model, np.asarray(images, np.float32))
    return probs[np.arange(len(classes)), classes]


def blurred_probabilities(model, images, classes) -> np.ndarray:
    """Class probability of each image's insertion start (causal.blur)."""
    from xai_mexculture.metrics import causal
    return class_probabilities(model, [causal.blur(img) for img in images], classes)


def black_probabilities(model, size=constants.INPUT_SIZE) -> np.ndarray:
    """Probabilities (one per class) of an all-black image."""
    return model_io.predict_batched(model, np.zeros((1,) + tuple(size) + (3,), np.float32))[0]


def rise_raw_maps(model, images, classes, keys) -> list:
    """RISE maps at the defaults before the division by the maximum: the mean masked class
    probability per pixel (RISEExplainer.explain_one), seeded by image name as main.py does."""
    from xai_mexculture import explainers
    rise = explainers.build("RISE", model)
    return [rise.explain_one(img, int(c), key)[0] for img, c, key in zip(images, classes, keys)]


def contrast(raw) -> float:
    """Minimum over maximum of a raw map (RISE: 0.5 at best when no region speaks against the class)."""
    return float(np.min(raw) / np.max(raw))


def top_inside(saliency, box, fraction=TOP_FRACTION) -> float:
    """Share of the map's top `fraction` pixels (ties broken in raster order) inside box (inclusive)."""
    flat = np.asarray(saliency, np.float64).ravel()
    k = max(1, int(round(fraction * flat.size)))
    top = np.argsort(-flat, kind="stable")[:k]
    ys, xs = np.unravel_index(top, np.shape(saliency))
    x0, y0, x1, y1 = box
    return float(np.mean((xs >= x0) & (xs <= x1) & (ys >= y0) & (ys <= y1)))


def measure(model, split, with_rise=True) -> dict:
    """Every number above for a loaded split (load_split)."""
    names, images, classes, boxes = zip(*split)
    classes = np.array(classes)
    probs = model_io.predict_batched(model, np.asarray(images, np.float32))
    out = {"names": names, "accuracy": float(np.mean(probs.argmax(1) == classes)),
           "p_full": probs[np.arange(len(classes)), classes],
           "p_blur": blurred_probabilities(model, images, classes),
           "p_black": black_probabilities(model)}
    if with_rise:
        raws = rise_raw_maps(model, images, classes, names)
        out["contrast"] = np.array([contrast(r) for r in raws])
        out["top_inside"] = np.array([top_inside(r, b) for r, b in zip(raws, boxes)])
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description="Print the demo's properties (see the module docstring).")
    p.add_argument("--images", default=str(constants.DEMO_TEST_IMAGES))
    p.add_argument("--boxes", default=str(constants.DEMO_DIR / make_demo.BOX_FOLDER))
    p.add_argument("--model", default=str(constants.DEMO_MODEL))
    p.add_argument("--no_rise", action="store_true")
    args = p.parse_args(argv)
    m = measure(model_io.load_model(args.model), load_split(args.images, args.boxes), not args.no_rise)
    n = len(m["names"])
    for i, name in enumerate(m["names"]):
        row = f"{name:45s} p {m['p_full'][i]:.3f}  blurred {m['p_blur'][i]:.3f}"
        if "contrast" in m:
            row += f"  RISE min/max {m['contrast'][i]:.3f}  top-20% in box {m['top_inside'][i]:.2f}"
        print(row)
    print(f"accuracy {m['accuracy']:.3f}; blurred below 0.5: {int(np.sum(m['p_blur'] < 0.5))}/{n}")
    if "contrast" in m:
        both = (m["contrast"] <= 0.7) & (m["top_inside"] >= 0.6)
        print(f"RISE min <= 0.7 max: {int(np.sum(m['contrast'] <= 0.7))}/{n}; top-20% >= 60% in box: "
              f"{int(np.sum(m['top_inside'] >= 0.6))}/{n}; both: {int(both.sum())}/{n}")
    print("black image: " + ", ".join(f"{c} {p:.3f}" for c, p in zip(constants.CLASS_NAMES, m["p_black"])))
    return m


if __name__ == "__main__":
    main()
