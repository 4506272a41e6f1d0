"""Maps of every registered method, curves of the seed's four, MuFidelity drops and ROAD scores (a Grad-CAM
map, both orders, three levels), on the demo model, for the backend parity test.

    KERAS_BACKEND=jax python tests/backend_parity.py OUT.npz
computes them on the backend of the process and saves them; tests/jax_checks.py does so on JAX, and
tests/core/test_backend.py compares those results with TensorFlow's."""
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

N_IMAGES = 3
PARAMS = {"RISE": {"n_masks": 300}, "LIME": {"num_samples": 150}, "SMOOTHGRAD": {"n_samples": 8},
          "INTEGRATED_GRADIENTS": {"steps": 16}, "OCCLUSION": {"stride": 24}}


def compute(batch_size=16):
    from xai_mexculture.core import backend
    import constants
    from xai_mexculture.core import data
    from xai_mexculture.metrics import causal
    from xai_mexculture.metrics import mufidelity
    from xai_mexculture.metrics import road
    from xai_mexculture import explainers
    from xai_mexculture.core import image_io
    from xai_mexculture.core import model_io
    model = model_io.load_model(constants.DEMO_MODEL)
    paths = data.list_images(constants.DEMO_TEST_IMAGES)[::4][:N_IMAGES]  # one image per class
    imgs = np.stack([image_io.load_image(p) for p in paths])
    classes = np.array([data.class_index(p.name) for p in paths])
    keys = [p.name for p in paths]
    out = {"backend": np.array(backend.name())}
    scorer = causal.CurveScorer(model, batch_size)
    for method in explainers.names():
        maps = explainers.get(method)(model, batch_size=batch_size, seed=0, **PARAMS.get(method, {})).explain(
            imgs, classes, keys)
        out[f"{method}_maps"] = maps
        if method not in explainers.default_names():
            continue
        for i, (img, cls) in enumerate(zip(imgs, classes)):
            curves = causal.causal_curves(model, img, {method: maps[i]}, int(cls), step=1000, scorer=scorer)
            for kind in ("insertion", "deletion"):
                out[f"{method}_{kind}_{i}"] = curves[method][kind][0]
    removed = mufidelity.mufidelity_patterns(n_samples=64, seed=2)
    for i, (img, cls) in enumerate(zip(imgs, classes)):
        out[f"mufidelity_drops_{i}"] = mufidelity.mufidelity_scorer(model, batch_size).drops(img, int(cls), removed)
        by_order = road.road_curves(model, img, {"m": out["GRADCAM_maps"][i]}, int(cls), percentages=(30, 60, 90),
                                    seed=i, batch_size=batch_size)
        for order, (scores, _) in by_order["m"].items():
            out[f"road_{order}_{i}"] = scores
    out["probs"] = model_io.predict_batched(model, imgs)
    return out


if __name__ == "__main__":
    np.savez(sys.argv[1], **compute())
