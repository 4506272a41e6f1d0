"""Explain a MexCulture classifier with the registered saliency methods (Grad-CAM, FEM, RISE, LIME,
...) and score every map with the registered metrics: against human gaze (PCC, SIM, KLD, NSS,
AUC-Judd) and against the model (Insertion, Deletion AUC).

    python main.py                       # bundled demo data and model, the seed's four methods
    python main.py --test_images_folder_path MexCulture142/images_val \
        --test_gdfm_folder_path MexCulture142/gazefixationsdensitymaps \
        --model_path models/mexculture_resnet.keras --explanation_method GRADCAM,RISE
    python main.py --backend jax         # the same numbers on Keras' JAX backend

Outputs (under --output_dir): results.csv (one row per image x method, written as each image
finishes), summary.md / summary.csv (mean ± std per method), comparisons.csv (paired Wilcoxon
tests), maps/*.npy, figures/*.png, errors.csv (skipped images and why), manifest.json.
"""
import argparse
import datetime
import hashlib
import json
import logging
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

import backend
import constants
import data

log = logging.getLogger("xai_mexculture")

# Parameters of the run (besides the methods' own) that change the numbers: --resume refuses to mix
# rows computed with different values.
NUMBER_FLAGS = ("model_sha256", "target", "seed", "step", "gfdm_sigma", "test_gdfm_folder_path",
                "fixations_folder_path")


# --------------------------------------------------------------------------- arguments
def _pre_parse_backend(argv):
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--backend", choices=backend.BACKENDS, default=None)
    known, _ = p.parse_known_args(argv)
    return known.backend


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows a flag's default, unless it is None or off (the help text then says what happens)."""

    def _get_help_string(self, action):
        if action.default in (None, False):
            return action.help
        return super()._get_help_string(action)


def build_parser():
    import explainers
    p = argparse.ArgumentParser(description="Explain and evaluate a MexCulture classifier.",
                                formatter_class=_HelpFormatter)
    p.add_argument("--test_images_folder_path", default=str(constants.DEMO_TEST_IMAGES),
                   help="folder of test images (SSS_XXX_YYY_N_#.png)")
    p.add_argument("--test_gdfm_folder_path", default=str(constants.DEMO_TEST_GFDM),
                   help="folder of gaze-fixation density maps (SSS_XXX_YYY_GFDM_N_#.png)")
    p.add_argument("--fixations_folder_path", default=None,
                   help="folder of fixation files (SSS_XXX_YYY_GazeFix_N_#.txt): enables NSS and "
                        "AUC-Judd, and GFDMs are built from fixations where one is missing "
                        "(default: the demo fixations when running on the demo data)")
    p.add_argument("--explanation_method", default="ALL",
                   help=f"one method, a comma-separated list, ALL ({','.join(explainers.default_names())})"
                        f" or EVERY; registered: {', '.join(explainers.names())}")
    p.add_argument("--model_name", default="ResNet", help="backbone family (ResNet, VGG16, ...)")
    p.add_argument("--model_path", default=str(constants.DEMO_MODEL), help="a .keras classifier")
    p.add_argument("--backend", default=None, choices=backend.BACKENDS,
                   help="Keras backend (default: KERAS_BACKEND if set, else tensorflow)")
    p.add_argument("--display_type", default="grid", choices=["grid", "singles"],
                   help="one figure per image, or one per panel")
    p.add_argument("--show", action="store_true", help="also open the figures in windows")
    p.add_argument("--output_dir", default="outputs", help="where everything is written")
    p.add_argument("--target", default="true", choices=["true", "predicted"],
                   help="class to explain: from the file name, or the model's prediction")
    p.add_argument("--seed", type=int, default=constants.SEED,
                   help="seed of every random draw (combined with each image's name)")
    p.add_argument("--n_images", type=int, default=None, help="only the first N images (sorted by name)")
    p.add_argument("--step", type=int, default=constants.STEP, help="pixels per insertion/deletion step")
    p.add_argument("--gfdm_sigma", type=float, default=constants.GFDM_SIGMA_MEXCULTURE,
                   help="Gaussian sigma (pixels) for GFDMs built from fixations")
    p.add_argument("--batch_size", type=int, default=constants.BATCH_SIZE,
                   help="images per compiled model call (at most)")
    p.add_argument("--jit", default=constants.JIT_COMPILE, choices=["on", "off"],
                   help="XLA compilation (TensorFlow) or jax.jit (JAX) of the batched model calls")
    p.add_argument("--resume", action="store_true", help="skip images already in results.csv")
    p.add_argument("--no_progress", action="store_true", help="hide the progress bar")
    group = p.add_argument_group("method parameters (declared by the registered methods)")
    for param in explainers.all_params():
        group.add_argument(f"--{param.flag}", dest=param.flag, type=param.type, default=param.default,
                           help=param.help)
    return p


def parse_args(argv=None):
    import explainers
    p = build_parser()
    args = p.parse_args(argv)
    try:
        args.methods = explainers.parse_methods(args.explanation_method)
    except ValueError as err:
        p.error(str(err))
    if args.fixations_folder_path is None and \
            Path(args.test_images_folder_path).resolve() == constants.DEMO_TEST_IMAGES.resolve():
        args.fixations_folder_path = str(constants.DEMO_TEST_FIXATIONS)
    for name in ("step", "batch_size"):
        if getattr(args, name) < 1:
            p.error(f"--{name} must be >= 1")
    for param in explainers.all_params(args.methods):
        try:
            param.validate(getattr(args, param.flag))
        except ValueError as err:
            p.error(str(err))
    for flag in ("test_images_folder_path", "test_gdfm_folder_path", "fixations_folder_path"):
        folder = getattr(args, flag)
        if folder is not None and not Path(folder).is_dir():
            p.error(f"--{flag} {folder}: no such folder")
    if not Path(args.model_path).is_file():
        p.error(f"--model_path {args.model_path}: no such file")
    return args


def number_parameters(args, methods) -> dict:
    """Every declared parameter that changes the numbers, with its value in this run."""
    import explainers
    out = {flag: getattr(args, flag, None) for flag in NUMBER_FLAGS}
    for param in explainers.all_params(methods):
        if param.changes_numbers:
            out[param.flag] = getattr(args, param.flag)
    return out


# --------------------------------------------------------------------------- one image
def explain(explainer, img, target, name):
    """The saliency map of one method for one image (float32 (H, W) in [0, 1])."""
    return explainer.explain(img[None], [target], keys=[name])[0]


def load_gaze(sample, args):
    """(GFDM (H, W) in [0, 1], fixations (N, 2) or None) of a sample; errors name the file."""
    import utils
    fixations = data.read_fixations(sample.fixation_path) if sample.fixation_path else None
    if sample.gfdm_path is not None:
        return utils.load_gfdm(sample.gfdm_path), fixations
    if fixations is not None:
        shape = utils.load_image(sample.image_path, size=None).shape[:2]
        return data.gfdm_from_fixations(fixations, shape, args.gfdm_sigma), fixations
    raise ValueError(f"{sample.name}: no GFDM (and no fixation file to build one from)")


def process_image(sample, model, args, explainer_objects, scorer, bar=None):
    """Explain and score one image with every method; returns (rows, maps, image data, info)."""
    import metrics
    import utils
    img = utils.load_image(sample.image_path, tuple(model.inputs[0].shape[1:3]))
    gfdm, fixations = load_gaze(sample, args)
    probs = utils.predict_batched(model, img[None], 1, jit=args.jit == "on")[0]
    predicted = int(probs.argmax())
    target = data.class_index(sample.name) if args.target == "true" else predicted
    maps, seconds = {}, {}
    for method, explainer in explainer_objects.items():
        if bar is not None:
            bar.set_postfix_str(f"{sample.name} {method}")
        start = time.perf_counter()
        maps[method] = explain(explainer, img, target, sample.name)
        seconds[method] = time.perf_counter() - start
        if bar is not None:
            bar.update(1)
    image = metrics.ImageData(sample.name, img, target, gfdm, fixations, model, scorer, args.step)
    values = metrics.evaluate_image(image, maps)
    rows = [dict(image=sample.name, method=method, true_class=data.class_name(sample.name),
                 target_class=constants.CLASS_NAMES[target], predicted_class=constants.CLASS_NAMES[predicted],
                 confidence=f"{probs[predicted]:.6f}", seconds=f"{seconds[method]:.4f}", **values[method])
             for method in maps]
    info = dict(img=img, gfdm=gfdm, probs=probs, predicted=predicted, target=target)
    return rows, maps, image, values, info


def save_figures(sample, maps, image, values, info, args, fig_dir):
    import figures
    headline = (f"{sample.name} | true {data.class_name(sample.name)} | "
                f"predicted {constants.CLASS_NAMES[info['predicted']]} ({info['probs'][info['predicted']]:.2f}) | "
                f"explained {constants.CLASS_NAMES[info['target']]}")
    figures.save_image_figures(sample.name, info["img"], info["gfdm"], maps, values, image.curves, headline,
                               fig_dir, args.display_type, args.show)


# --------------------------------------------------------------------------- the run
def file_sha256(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def write_manifest(args, out_dir, methods, n_images, numbers):
    from importlib import metadata
    versions = {}
    for pkg in ("tensorflow", "tensorflow-cpu", "jax", "jaxlib", "keras", "numpy", "opencv-python-headless",
                "lime", "scikit-image", "matplotlib", "scipy"):
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            pass
    params = {k: v for k, v in vars(args).items() if k != "methods"}
    manifest = dict(date=datetime.datetime.now(datetime.timezone.utc).isoformat(),
                    command=" ".join(sys.argv), parameters=params, methods=methods, backend=backend.name(),
                    numbers=numbers, n_images=n_images, model_sha256=numbers["model_sha256"],
                    python=platform.python_version(), platform=platform.platform(), packages=versions)
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str))


def check_resume(out_dir, numbers):
    """--resume only continues a run made with the same number-changing parameters."""
    path = out_dir / "manifest.json"
    if not path.exists():
        return
    try:
        old = json.loads(path.read_text()).get("numbers", {})
    except ValueError:
        raise SystemExit(f"error: {path}: not a readable manifest; cannot resume safely")
    new = json.loads(json.dumps(numbers, default=str))
    differ = [f"--{k} {old.get(k)!r} -> {new.get(k)!r}" for k in sorted(set(old) | set(new))
              if k in old and old.get(k) != new.get(k)]
    if differ:
        raise SystemExit(f"error: --resume in {out_dir}: these parameters differ from the earlier run, "
                         f"so its rows cannot be mixed with new ones: {'; '.join(differ)}")


def run(args):
    import explainers
    import report
    import utils
    from evaluate import CurveScorer
    jit = args.jit == "on"
    out_dir = Path(args.output_dir)
    maps_dir, fig_dir = out_dir / "maps", out_dir / "figures"
    for d in (out_dir, maps_dir, fig_dir):
        d.mkdir(parents=True, exist_ok=True)
    results_path = out_dir / "results.csv"
    methods = args.methods
    numbers = number_parameters(args, methods)
    numbers["model_sha256"] = file_sha256(args.model_path)
    if args.resume:
        check_resume(out_dir, numbers)
    elif results_path.exists():
        results_path.unlink()
    try:
        model = utils.load_model(args.model_path)
    except (OSError, ValueError) as err:
        raise SystemExit(f"error: {err}")
    try:
        explainer_objects = {m: explainers.build(m, model, args.model_name, args.batch_size, args.seed, jit,
                                                 vars(args)) for m in methods}
    except (ValueError, TypeError) as err:
        raise SystemExit(f"error: {err}")
    scorer = CurveScorer(model, args.batch_size, jit)
    samples = data.pair_samples(args.test_images_folder_path, args.test_gdfm_folder_path,
                                args.fixations_folder_path)[:args.n_images]
    if not samples:
        raise SystemExit(f"error: no images in {args.test_images_folder_path}")
    write_manifest(args, out_dir, methods, len(samples), numbers)
    done = {}
    for row in report.read_rows(results_path):
        done.setdefault(row["image"], set()).add(row["method"])
    todo = [s for s in samples if not set(methods) <= done.get(s.name, set())]
    if args.resume and len(todo) < len(samples):
        log.info("resuming: %d of %d images already done", len(samples) - len(todo), len(samples))
    errors = []
    from tqdm import tqdm
    with tqdm(total=len(todo) * len(methods), unit="map", disable=args.no_progress,
              dynamic_ncols=True) as bar:
        for sample in todo:
            bar_start = bar.n
            try:
                rows, maps, image, values, info = process_image(sample, model, args, explainer_objects,
                                                                scorer, bar)
                for method, sal in maps.items():
                    np.save(maps_dir / f"{Path(sample.name).stem}_{method}.npy", sal)
                save_figures(sample, maps, image, values, info, args, fig_dir)
                report.append_rows(results_path, [r for r in rows if r["method"] not in done.get(sample.name, ())])
            except Exception as err:  # one bad image never stops the batch
                reason = str(err) if sample.name in str(err) else f"{sample.name}: {err}"
                log.error("skipped %s", reason)
                errors.append((sample.name, f"{type(err).__name__}: {err}"))
                bar.update(bar_start + len(methods) - bar.n)
    _write_errors(out_dir / "errors.csv", errors)
    rows = report.read_rows(results_path)
    summary = report.summarise(rows, methods)
    comparisons = report.wilcoxon_comparisons(rows, methods) if len(methods) > 1 else []
    text = report.summary_markdown(summary, comparisons)
    (out_dir / "summary.md").write_text(text)
    report.write_summary_csv(out_dir / "summary.csv", summary)
    report.write_comparisons_csv(out_dir / "comparisons.csv", comparisons)
    print(_predictions_table(rows, methods))
    print(text)
    if errors:
        print(f"{len(errors)} image(s) skipped (see {out_dir / 'errors.csv'}):")
        for name, reason in errors:
            print(f"  {name}: {reason}")
    print(f"outputs in {out_dir.resolve()}")
    return summary, errors


def _predictions_table(rows, methods):
    seen, lines = set(), ["image | true | predicted (confidence)"]
    for r in rows:
        if r["image"] in seen:
            continue
        seen.add(r["image"])
        lines.append(f"{r['image']} | {r['true_class'] or '?'} | {r['predicted_class']} ({r['confidence']:.2f})")
    correct = sum(1 for r in rows if r["method"] == methods[0] and r["true_class"] == r["predicted_class"])
    n = sum(1 for r in rows if r["method"] == methods[0])
    if n:
        lines.append(f"accuracy: {correct}/{n} = {correct / n:.3f}")
    return "\n".join(lines) + "\n"


def _write_errors(path, errors):
    import csv
    with Path(path).open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["image", "reason"])
        writer.writerows(errors)


def main(argv=None):
    if "tensorflow" not in sys.modules:  # TensorFlow's C++ start-up chatter, before it is loaded
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    logging.getLogger("absl").setLevel(logging.ERROR)
    logging.getLogger("jax").setLevel(logging.WARNING)
    try:
        backend.select_backend(_pre_parse_backend(argv))
    except RuntimeError as err:
        raise SystemExit(f"error: {err}")
    return run(parse_args(argv))


if __name__ == "__main__":
    main()
