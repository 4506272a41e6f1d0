"""A run's output folder made without a model (seeded numbers), for the tests of the plots, the page
and report.py: results.csv, maps, saved inputs/GFDM/curves, manifest, errors, optionally sanity.csv."""
import csv
import json
from pathlib import Path

import numpy as np

from xai_mexculture.render import rebuild
from xai_mexculture.results import saved
from xai_mexculture.results import tables

METHODS = ("GRADCAM", "FEM", "RISE")
REFERENCES = ("CENTER", "RANDOM")


def result_rows(results_csv):
    """The rows of a run's results.csv without the seconds column (timings differ between equal
    runs); light on imports, so a test module that host processes import can use it."""
    with open(results_csv, newline="") as f:
        return [{k: v for k, v in r.items() if k != "seconds"} for r in csv.DictReader(f)]


def image_names(n):
    classes = ("Colonial", "Modern", "Prehispanic")
    return [f"{classes[i % 3]}_Fake{i:03d}_X_N_1.png" for i in range(n)]


def make(out, n_images=4, methods=METHODS, references=REFERENCES, sanity=False, human=True, seed=0,
         display_type="grid", figure_format="png", every_metric=False) -> Path:
    """every_metric: a value in every metric column of every row (the widest tables)."""
    rng = np.random.default_rng(seed)
    out = Path(out)
    (out / "maps").mkdir(parents=True)
    rows = []
    for i, name in enumerate(image_names(n_images)):
        cls = name.split("_")[0]
        common = dict(image=name, true_class=cls, target_class=cls, predicted_class=cls if i % 4 else "Modern",
                      confidence=f"{0.5 + 0.1 * (i % 5):.6f}", deletion_baseline="black", insertion_start="blur",
                      p_full=f"{0.9 - 0.05 * i:.6f}", p_start="0.200000", p_end="0.010000")
        curves = {"Insertion": {}, "Deletion": {}}
        for method in list(methods) + list(references):
            sal = rng.random((16, 16)).astype(np.float32)
            np.save(out / "maps" / f"{saved.stem(name)}_{method}.npy", sal)
            curves["Insertion"][method] = np.sort(rng.random(9))
            curves["Deletion"][method] = np.sort(rng.random(9))[::-1]
            rows.append(dict(common, method=method, seconds="" if method in references else f"{0.1 * (i + 1):.4f}",
                             PCC=rng.uniform(-0.2, 0.8), SIM=rng.uniform(0, 1), KLD=rng.uniform(0, 3),
                             Insertion=float(curves["Insertion"][method].mean()),
                             Deletion=float(curves["Deletion"][method].mean()), Sparseness=rng.uniform(0, 1)))
            if every_metric:
                rows[-1].update({m: rng.uniform(-1, 3) for m in tables.metric_names() if m not in rows[-1]})
        if human:
            rows.append(dict(common, method="HUMAN", seconds="", NSS_loo=rng.uniform(0, 3)))
        img = rng.integers(0, 256, (16, 16, 3)).astype(np.float32)
        saved.save_image(out, name, img, rng.random((12, 20)), curves)
    tables.append_rows(out / "results.csv", rows)
    manifest = dict(date="2026-01-01T00:00:00+00:00", command="main.py (fake)", methods=list(methods),
                    backend="none", n_images=n_images, model_sha256="0" * 64,
                    parameters=dict(seed=0, references=list(references), display_type=display_type,
                                    figure_format=figure_format, deletion_baseline="black", insertion_start="blur"))
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2))
    with (out / "errors.csv").open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["image", "reason"])
        writer.writerow(["Colonial_Broken_X_N_1.png", "ValueError: cannot be read <as an image> & so on"])
    if sanity:
        from xai_mexculture.metrics import sanity as sanity_module
        srows = [dict(image=name, method=m, randomised_layers=d, layer=f"layer{d}", spearman=rng.uniform(-1, 1),
                      ssim=rng.uniform(0, 1)) for name in image_names(n_images) for m in methods for d in (1, 2, 3)]
        sanity_module.write_rows(out / "sanity.csv", srows)
    return out


def build(out, display_type="grid", figure_format="png", **kwargs) -> dict:
    """make(), then the tables and rebuild.rebuild (what `python report.py OUT` does)."""
    make(out, display_type=display_type, figure_format=figure_format, **kwargs)
    rows = tables.read_rows(out / "results.csv")
    methods, references = tables.run_rows(out, rows)
    tables.write_tables(out, rows, methods, references)
    return rebuild.rebuild(out, display_type, figure_format, progress=False)


def figure_data(name="Colonial_X_Y_N_1.png", methods=("GRADCAM", "RISE", "CENTER"), gfdm_shape=(24, 40), seed=0):
    """figures.ImageFigure of seeded random 32 x 32 maps (RISE's nearly flat), curves and values, the
    input at the model's square size and the GFDM at `gfdm_shape` (the photograph's aspect ratio)."""
    from xai_mexculture.render import figures
    rng = np.random.default_rng(seed)
    maps = {m: rng.random((32, 32)).astype(np.float32) for m in methods}
    if "RISE" in maps:
        maps["RISE"] = np.full((32, 32), 0.97, np.float32)  # nearly flat
    curves = {"Insertion": {m: np.linspace(0.1, 0.9, 9) for m in methods},
              "Deletion": {m: np.linspace(0.9, 0.1, 9) for m in methods}}
    values = {m: {"Insertion": 0.5, "Deletion": 0.4} for m in methods}
    info = dict(true_class="Colonial", predicted_class="Modern", confidence=0.61, target_class="Colonial",
                p_full=0.3, p_start=0.1, p_end=0.05, deletion_baseline="black", insertion_start="blur")
    img = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
    return figures.ImageFigure(name, img, rng.random(gfdm_shape).astype(np.float32), maps, curves, values, info)


def demo_folders(root, stems):
    """images/, gfdm/ and fix/ under `root` with the demo's image, GFDM and fixation file of each stem
    (e.g. "Colonial_DemoTest001_Synthetic_N_1"): {"imgs", "gfdms", "fixs"}."""
    import shutil
    import constants
    out = {key: root / name for key, name in (("imgs", "images"), ("gfdms", "gfdm"), ("fixs", "fix"))}
    for folder in out.values():
        folder.mkdir()
    for stem in stems:
        shutil.copy(constants.DEMO_TEST_IMAGES / f"{stem}.png", out["imgs"])
        shutil.copy(constants.DEMO_TEST_GFDM / f"{stem.replace('_N_1', '_GFDM_N_1')}.png", out["gfdms"])
        shutil.copy(constants.DEMO_TEST_FIXATIONS / f"{stem.replace('_N_1', '_GazeFix_N_1')}.txt", out["fixs"])
    return out
