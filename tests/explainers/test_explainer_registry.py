"""The registries: a new method or metric is one module; main.py, the tables and figures pick it up."""
import json
import sys

import numpy as np
import pytest

import constants

from xai_mexculture import explainers
from xai_mexculture.cli import main
from xai_mexculture.core import image_io
from xai_mexculture.explainers import Param
from xai_mexculture.results import tables
from xai_mexculture.run import options


FAST = ["--rise_masks", "32", "--lime_samples", "16", "--step", "4000", "--no_progress", "--references", "none"]


class Brightness(explainers.Explainer):
    """Toy method: the image's brightness raised to a power."""
    name = "TOY"
    params = (Param("power", "toy_power", float, 1.0, "toy: power of the brightness"),)

    def _explain(self, images, class_indices, keys):
        return [img.mean(axis=-1) ** self.power for img in images]


@pytest.fixture()
def toy():
    explainers.register(Brightness)
    yield Brightness
    explainers.unregister("TOY")


@pytest.fixture()
def demo_folders(two_demo_images):
    return two_demo_images + FAST


def test_method_lists():
    assert explainers.parse_methods("ALL") == ["GRADCAM", "FEM", "RISE", "LIME"]
    assert explainers.parse_methods("rise, gradcam") == ["RISE", "GRADCAM"]
    assert explainers.parse_methods("GRADCAM,ALL") == ["GRADCAM", "FEM", "RISE", "LIME"]
    assert explainers.parse_methods("EVERY")[:4] == ["GRADCAM", "FEM", "RISE", "LIME"]
    with pytest.raises(ValueError, match="unknown explanation method 'NOPE'"):
        explainers.parse_methods("GRADCAM,NOPE")


def test_register_refuses_bad_names(toy):
    class Lower(explainers.Explainer):
        name = "lower"
    with pytest.raises(ValueError, match="upper case"):
        explainers.register(Lower)

    class Clash(explainers.Explainer):
        name = "TOY"
    with pytest.raises(ValueError, match="registered already"):
        explainers.register(Clash)
    with pytest.raises(TypeError, match="not an Explainer"):
        explainers.register(int)


def test_flags_come_from_declared_parameters(toy):
    text = options.build_parser().format_help()
    for flag in ("--toy_power", "--rise_masks", "--rise_grid", "--rise_p", "--lime_samples", "--fem_k", "--layer"):
        assert flag in text, flag
    args = options.parse_args(["--explanation_method", "TOY", "--toy_power", "2"])
    assert args.methods == ["TOY"] and args.toy_power == 2.0
    assert options.number_parameters(args, ["TOY"])["toy_power"] == 2.0
    assert "rise_masks" not in options.number_parameters(args, ["TOY"])
    assert "lime_features" not in options.number_parameters(args, ["LIME"])  # declared as not changing numbers


def test_a_toy_method_runs_through_main(toy, demo_folders, tmp_path):
    out = tmp_path / "out"
    main.main(demo_folders + ["--explanation_method", "GRADCAM,TOY", "--toy_power", "2", "--output_dir", str(out)])
    rows = tables.read_rows(out / "results.csv")
    assert sorted({r["method"] for r in rows}) == ["GRADCAM", "TOY"] and len(rows) == 4
    toy_map = np.load(out / "maps" / "Colonial_DemoTest001_Synthetic_N_1_TOY.npy")
    img = image_io.load_image(constants.DEMO_TEST_IMAGES / "Colonial_DemoTest001_Synthetic_N_1.png")
    expected = img.mean(-1) ** 2
    np.testing.assert_allclose(toy_map, expected / expected.max(), rtol=1e-5)
    assert "| TOY | 2 |" in (out / "summary.md").read_text()
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["numbers"]["toy_power"] == 2.0 and manifest["methods"] == ["GRADCAM", "TOY"]
    assert (out / "figures" / "Colonial_DemoTest001_Synthetic_N_1_grid.png").exists()


def test_discover_imports_a_new_module(tmp_path):
    (tmp_path / "toy_plugin.py").write_text(
        "from xai_mexculture import explainers\n\n\n@explainers.register\nclass Flat(explainers.Explainer):\n"
        "    name = 'FLAT'\n\n    def _explain(self, images, class_indices, keys):\n"
        "        return [img[..., 0] * 0 + 1 for img in images]\n")
    try:
        explainers.discover(tmp_path)
        assert "FLAT" in explainers.names() and "FLAT" not in explainers.default_names()
        assert "FLAT" in explainers.parse_methods("EVERY")
    finally:
        explainers.unregister("FLAT")
        sys.modules.pop("toy_plugin", None)
        sys.path.remove(str(tmp_path.resolve()))


def test_the_readme_example_method_works(tmp_path, demo_image):
    import re
    readme = (constants.ROOT / "docs" / "extending.md").read_text()
    section = readme[readme.index("## Adding a method"):]
    code = re.search(r"```python\n(# EDGES.py.*?)```", section, re.S).group(1)
    (tmp_path / "EDGES.py").write_text(code)
    try:
        explainers.discover(tmp_path)
        assert "EDGES" in explainers.names()
        assert "--edges_sigma" in options.build_parser().format_help()
        img, cls = demo_image
        maps = explainers.build("EDGES", _demo_model(), options={"edges_sigma": 2.0}).explain(
            img[None], [cls], ["x.png"])
        assert maps.shape == (1, 224, 224) and maps.max() == pytest.approx(1.0) and maps.min() >= 0
    finally:
        explainers.unregister("EDGES")
        sys.modules.pop("EDGES", None)
        sys.path.remove(str(tmp_path.resolve()))


def _demo_model():
    from xai_mexculture.core import model_io
    return model_io.load_model(constants.DEMO_MODEL)
