"""The registries: a new method or metric is one module; main.py, the tables and figures pick it up."""
import csv
import sys

import numpy as np
import pytest

import constants

from xai_mexculture import explainers
from xai_mexculture import metrics
from xai_mexculture.cli import main
from xai_mexculture.core import image_io
from xai_mexculture.results import tables


FAST = ["--rise_masks", "32", "--lime_samples", "16", "--step", "4000", "--no_progress", "--references", "none"]


@pytest.fixture()
def demo_folders(two_demo_images):
    return two_demo_images + FAST


def test_metric_registry_drives_the_columns(demo_folders, tmp_path):
    assert metrics.names()[:11] == ["PCC", "SIM", "KLD", "NSS", "AUC_Judd", "Insertion", "Deletion", "sAUC",
                                    "MuFidelity", "Sparseness", "MaxSensitivity"]
    assert metrics.lower_is_better() == ["KLD", "Deletion", "MaxSensitivity", "ROAD_MoRF", "KLD_split"]
    assert {m.name for m in metrics.all_metrics() if "model" in m.needs} == {"Insertion", "Deletion", "MuFidelity",
                                                                             "ROAD_MoRF", "ROAD_LeRF"}
    assert {m.name for m in metrics.all_metrics() if m.option} == {"ROAD_MoRF", "ROAD_LeRF"}
    peak = metrics.Metric("GAZE_AT_PEAK", True, ("gfdm",),
                          metrics.per_map(lambda im, sal: float(
                              image_io.resize_map(im.gfdm, sal.shape).ravel()[sal.argmax()])))
    metrics.register(peak)
    try:
        out = tmp_path / "out"
        main.main(demo_folders + ["--explanation_method", "GRADCAM", "--output_dir", str(out)])
        with (out / "results.csv").open() as f:
            rows = list(csv.DictReader(f))
        assert "GAZE_AT_PEAK" in rows[0] and all(0 <= float(r["GAZE_AT_PEAK"]) <= 1 for r in rows)
        assert "GAZE_AT_PEAK" in (out / "summary.md").read_text()
        assert "GAZE_AT_PEAK_mean" in (out / "summary.csv").read_text()
    finally:
        metrics.unregister("GAZE_AT_PEAK")
    with pytest.raises(ValueError, match="unknown needs"):
        metrics.Metric("BAD", True, ("eyes",), None)


def test_metrics_whose_needs_are_missing_are_left_empty(demo_image, demo_model):
    img, cls = demo_image
    image = metrics.ImageData("x.png", img, cls, gfdm=np.ones((10, 10), np.float32) * 0.5, fixations=None)
    values = metrics.evaluate_image(image, {"M": np.eye(224, dtype=np.float32)})
    assert set(values["M"]) == {"PCC", "SIM", "KLD", "Sparseness"}


def test_the_docs_example_metric_works(tmp_path, demo_image):
    """docs/extending.md's "Adding a metric": one new file, found by discover, scored by evaluate_image
    (the GFDM's value at the map's maximum, here known by construction)."""
    import re
    doc = (constants.ROOT / "docs" / "extending.md").read_text()
    section = doc[doc.index("## Adding a metric"):]
    code = re.search(r"```python\n(# PEAK_GAZE.py.*?)```", section, re.S).group(1)
    (tmp_path / "PEAK_GAZE.py").write_text(code)
    try:
        explainers.discover(tmp_path)
        assert metrics.names()[-1] == "PEAK_GAZE" and "PEAK_GAZE" in tables.columns()
        img, cls = demo_image
        gfdm = np.zeros((28, 28), np.float32)
        gfdm[7, 21] = 0.75
        sal = np.zeros((224, 224), np.float32)
        sal[56:64, 168:176] = 1.0  # GFDM pixel (7, 21): 8 x 8 image pixels each
        image = metrics.ImageData("x.png", img, cls, gfdm=gfdm)
        values = metrics.evaluate_image(image, {"M": sal}, only=["PEAK_GAZE"])
        assert values["M"]["PEAK_GAZE"] == pytest.approx(0.75)
    finally:
        metrics.unregister("PEAK_GAZE")
        sys.modules.pop("PEAK_GAZE", None)
        sys.path.remove(str(tmp_path.resolve()))


def test_the_readme_names_every_lower_is_better_metric():
    import re
    readme = (constants.ROOT / "docs" / "metrics.md").read_text()
    listed = re.search(r"Higher is better for every metric except (.*?)\.", readme).group(1)
    assert set(re.split(r", | and ", listed)) == set(metrics.lower_is_better())  # KLD_split was left out
