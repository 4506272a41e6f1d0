"""Explain a MexCulture classifier with Grad-CAM, FEM, RISE and LIME and score every map against
human gaze (PCC, SIM, KLD, NSS, AUC-Judd) and against the model (Insertion, Deletion AUC).

    python main.py                       # bundled demo data and model, all four methods
    python main.py --test_images_folder_path MexCulture142/images_val \
        --test_gdfm_folder_path MexCulture142/gazefixationsdensitymaps \
        --model_path models/mexculture_resnet.keras --explanation_method GRADCAM

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

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

import constants  # noqa: E402
import data  # noqa: E402
import evaluate  # noqa: E402
import report  # noqa: E402
import utils  # noqa: E402

log = logging.getLogger("xai_mexculture")


# --------------------------------------------------------------------------- arguments
def parse_args(argv=None):
    p = argparse.ArgumentParser(description="Explain and evaluate a MexCulture classifier.",
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--test_images_folder_path", default=str(constants.DEMO_TEST_IMAGES),
                   help="folder of test images (SSS_XXX_YYY_N_#.png)")
    p.add_argument("--test_gdfm_folder_path", default=str(constants.DEMO_TEST_GFDM),
                   help="folder of gaze-fixation density maps (SSS_XXX_YYY_GFDM_N_#.png)")
    p.add_argument("--fixations_folder_path", default=None,
                   help="folder of fixation files (SSS_XXX_YYY_GazeFix_N_#.txt): enables NSS and "
                        "AUC-Judd, and GFDMs are built from fixations where one is missing "
                        "(default: the demo fixations when running on the demo data)")
    p.add_argument("--explanation_method", default="ALL", type=str.upper,
                   choices=list(constants.METHODS) + ["ALL"])
    p.add_argument("--model_name", default="ResNet", help="backbone family (ResNet, VGG16, ...)")
    p.add_argument("--model_path", default=str(constants.DEMO_MODEL), help="a .keras classifier")
    p.add_argument("--layer", default=None, help="conv layer for Grad-CAM/FEM (default: the last one)")
    p.add_argument("--display_type", default="grid", choices=["grid", "singles"])
    p.add_argument("--show", action="store_true", help="also open the figures in windows")
    p.add_argument("--output_dir", default="outputs")
    p.add_argument("--target", default="true", choices=["true", "predicted"],
                   help="class to explain: from the file name, or the model's prediction")
    p.add_argument("--seed", type=int, default=constants.SEED)
    p.add_argument("--n_images", type=int, default=None, help="only the first N images")
    p.add_argument("--rise_masks", type=int, default=constants.RISE_N_MASKS)
    p.add_argument("--rise_grid", type=int, default=constants.RISE_MASK_SIZE)
    p.add_argument("--rise_p", type=float, default=constants.RISE_P)
    p.add_argument("--lime_samples", type=int, default=constants.LIME_NUM_SAMPLES)
    p.add_argument("--fem_k", type=float, default=constants.FEM_K)
    p.add_argument("--step", type=int, default=constants.STEP, help="pixels per insertion/deletion step")
    p.add_argument("--gfdm_sigma", type=float, default=constants.GFDM_SIGMA_MEXCULTURE,
                   help="Gaussian sigma (pixels) for GFDMs built from fixations")
    p.add_argument("--batch_size", type=int, default=constants.BATCH_SIZE)
    p.add_argument("--jit", default=constants.JIT_COMPILE, choices=["on", "off"],
                   help="XLA compilation of the batched model calls")
    p.add_argument("--resume", action="store_true", help="skip images already in results.csv")
    p.add_argument("--no_progress", action="store_true", help="hide the progress bar")
    args = p.parse_args(argv)
    if args.fixations_folder_path is None and \
            Path(args.test_images_folder_path).resolve() == constants.DEMO_TEST_IMAGES.resolve():
        args.fixations_folder_path = str(constants.DEMO_TEST_FIXATIONS)
    for name in ("rise_masks", "rise_grid", "lime_samples", "step", "batch_size"):
        if getattr(args, name) < 1:
            p.error(f"--{name} must be >= 1")
    if not 0 < args.rise_p <= 1:
        p.error("--rise_p must be in (0, 1]")
    for flag in ("test_images_folder_path", "test_gdfm_folder_path", "fixations_folder_path"):
        folder = getattr(args, flag)
        if folder is not None and not Path(folder).is_dir():
            p.error(f"--{flag} {folder}: no such folder")
    if not Path(args.model_path).is_file():
        p.error(f"--model_path {args.model_path}: no such file")
    return args


def methods_of(args):
    return list(constants.METHODS) if args.explanation_method == "ALL" else [args.explanation_method]


# --------------------------------------------------------------------------- one image
def explain(method, model, args, img, class_index):
    """The saliency map of one method (float32 (H, W) in [0, 1])."""
    if method == "GRADCAM":
        from GradCAM import GradCAM
        return GradCAM(model, args.model_name, img, class_index, layer_name=args.layer).compute_saliency_map()
    if method == "FEM":
        from FEM import FEM
        return FEM(model, args.model_name, img, class_index, k=args.fem_k,
                   layer_name=args.layer).compute_saliency_map()
    if method == "RISE":
        from RISE import RISE
        return RISE(model, img, class_index, args.rise_masks, args.rise_grid, args.rise_p, args.seed,
                    batch_size=args.batch_size).compute_saliency_map()
    if method == "LIME":
        from LIME import explain_with_lime
        return explain_with_lime(model, img, class_index, args.lime_samples, args.seed,
                                 batch_size=args.batch_size)[1]
    raise ValueError(f"unknown method {method}")


def load_gaze(sample, args):
    """(GFDM (H, W) in [0, 1], fixations (N, 2) or None) of a sample; errors name the file."""
    fixations = data.read_fixations(sample.fixation_path) if sample.fixation_path else None
    if sample.gfdm_path is not None:
        return utils.load_gfdm(sample.gfdm_path), fixations
    if fixations is not None:
        shape = utils.load_image(sample.image_path, size=None).shape[:2]
        return data.gfdm_from_fixations(fixations, shape, args.gfdm_sigma), fixations
    raise ValueError(f"{sample.name}: no GFDM (and no fixation file to build one from)")


def process_image(sample, model, args, methods, bar=None):
    """Explain and score one image with every method; returns (rows, maps, curves, info)."""
    img = utils.load_image(sample.image_path, tuple(model.inputs[0].shape[1:3]))
    gfdm, fixations = load_gaze(sample, args)
    probs = utils.predict_batched(model, img[None], 1)[0]
    predicted = int(probs.argmax())
    target = utils.get_image_index(sample.name) if args.target == "true" else predicted
    maps, seconds = {}, {}
    for method in methods:
        if bar is not None:
            bar.set_postfix_str(f"{sample.name} {method}")
        start = time.perf_counter()
        maps[method] = explain(method, model, args, img, target)
        seconds[method] = time.perf_counter() - start
        if bar is not None:
            bar.update(1)
    curves = evaluate.causal_curves(model, img, maps, target, args.step, batch_size=args.batch_size)
    rows = []
    for method in methods:
        rows.append(dict(image=sample.name, method=method,
                         true_class=_true_name(sample.name),
                         target_class=_name(target), predicted_class=_name(predicted),
                         confidence=f"{probs[predicted]:.6f}", seconds=f"{seconds[method]:.4f}",
                         **gaze_metrics(gfdm, fixations, maps[method]),
                         Insertion=curves[method]["insertion"][1], Deletion=curves[method]["deletion"][1]))
    info = dict(img=img, gfdm=gfdm, probs=probs, predicted=predicted, target=target)
    return rows, maps, curves, info


def gaze_metrics(gfdm, fixations, saliency):
    """PCC, SIM and KLD against the GFDM; NSS and AUC-Judd against the fixations when given.
    The map is resized to the GFDM's shape once here (the metrics then skip their own resize)."""
    saliency = utils.resize_map(saliency, gfdm.shape)
    out = dict(PCC=evaluate.calculate_pcc(gfdm, saliency), SIM=evaluate.calculate_sim(gfdm, saliency),
               KLD=evaluate.calculate_kld(gfdm, saliency), NSS="", AUC_Judd="")
    if fixations is not None and len(fixations):
        out["NSS"] = evaluate.calculate_nss(fixations, saliency, shape=gfdm.shape)
        out["AUC_Judd"] = evaluate.calculate_auc_judd(fixations, saliency, shape=gfdm.shape)
    return out


def _name(index):
    return constants.CLASS_NAMES[int(index)]


def _true_name(image_name):
    """Class name from the file-name prefix, or "" when the prefix is unknown (--target predicted)."""
    try:
        return _name(utils.get_image_index(image_name))
    except ValueError:
        return ""


# --------------------------------------------------------------------------- figures
def save_figures(sample, maps, curves, info, args, fig_dir):
    """`grid`: one PNG per image with a row per method; `singles`: one PNG per panel."""
    import representations
    stem = Path(sample.name).stem
    panels, titles, names = [], [], []
    for method, sal in maps.items():
        ins, dele = curves[method]["insertion"], curves[method]["deletion"]
        shown = stretch(sal)
        panels += [info["img"].astype(np.uint8), utils.resize_map(info["gfdm"], sal.shape), shown,
                   representations.represent_heatmap(shown),
                   representations.represent_heatmap_overlaid(shown, info["img"]),
                   _curve_plot(ins[0], "insertion"), _curve_plot(dele[0], "deletion")]
        titles += [f"{method}: input", "GFDM", f"saliency [{sal.min():.2f}, 1] shown min-max", "heatmap", "overlay",
                   f"Insertion AUC {ins[1]:.3f}", f"Deletion AUC {dele[1]:.3f}"]
        names += [f"{method}_{n}" for n in PANELS]
    headline = (f"{sample.name} | true {_true_name(sample.name)} | "
                f"predicted {_name(info['predicted'])} ({info['probs'][info['predicted']]:.2f}) | "
                f"explained {_name(info['target'])}")
    if args.display_type == "grid":
        utils.grid_layout(panels, titles, fig_dir / f"{stem}_grid.png", ncols=len(PANELS),
                          show=args.show, suptitle=headline)
        return
    single_dir = fig_dir / stem
    single_dir.mkdir(parents=True, exist_ok=True)
    for panel, title, name in zip(panels, titles, names):
        utils.grid_layout([panel], [title], single_dir / f"{name}.png", ncols=1, show=args.show,
                          suptitle=headline if name.endswith("_input") else None)


def stretch(saliency):
    """Min-max scaling for display only: maps whose minimum is far above 0 (RISE) would otherwise
    show as one flat colour. The saved .npy maps and all metrics use the unscaled map."""
    lo, hi = float(saliency.min()), float(saliency.max())
    return (saliency - lo) / (hi - lo) if hi > lo else saliency


PANELS = ("input", "gfdm", "saliency", "heatmap", "overlay", "insertion", "deletion")


def _curve_plot(scores, kind):
    def draw(ax):
        x = np.linspace(0, 1, len(scores))
        ax.plot(x, scores, color="tab:green" if kind == "insertion" else "tab:red")
        ax.fill_between(x, scores, alpha=0.3, color="tab:green" if kind == "insertion" else "tab:red")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1.02)
        ax.set_xlabel(f"fraction of pixels {'inserted' if kind == 'insertion' else 'deleted'}", fontsize=7)
        ax.set_ylabel("class probability", fontsize=7)
        ax.tick_params(labelsize=6)
    return draw


# --------------------------------------------------------------------------- the run
def file_sha256(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def write_manifest(args, out_dir, methods, n_images):
    from importlib import metadata
    versions = {}
    for pkg in ("tensorflow", "tensorflow-cpu", "keras", "numpy", "opencv-python-headless", "lime",
                "scikit-image", "matplotlib", "scipy"):
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            pass
    manifest = dict(date=datetime.datetime.now(datetime.timezone.utc).isoformat(),
                    command=" ".join(sys.argv), parameters=vars(args), methods=methods,
                    n_images=n_images, model_sha256=file_sha256(args.model_path),
                    python=platform.python_version(), platform=platform.platform(), packages=versions)
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str))


def run(args):
    os.environ["XAI_JIT"] = args.jit  # read by utils.use_xla when the compiled calls are built
    out_dir = Path(args.output_dir)
    maps_dir, fig_dir = out_dir / "maps", out_dir / "figures"
    for d in (out_dir, maps_dir, fig_dir):
        d.mkdir(parents=True, exist_ok=True)
    results_path = out_dir / "results.csv"
    if not args.resume and results_path.exists():
        results_path.unlink()
    methods = methods_of(args)
    try:
        model = utils.load_model(args.model_path)
    except (OSError, ValueError) as err:
        raise SystemExit(f"error: {err}")
    samples = data.pair_samples(args.test_images_folder_path, args.test_gdfm_folder_path,
                                args.fixations_folder_path)[:args.n_images]
    if not samples:
        raise SystemExit(f"error: no images in {args.test_images_folder_path}")
    write_manifest(args, out_dir, methods, len(samples))
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
                rows, maps, curves, info = process_image(sample, model, args, methods, bar)
                for method, sal in maps.items():
                    np.save(maps_dir / f"{Path(sample.name).stem}_{method}.npy", sal)
                save_figures(sample, maps, curves, info, args, fig_dir)
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
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    logging.getLogger("absl").setLevel(logging.ERROR)
    return run(parse_args(argv))


if __name__ == "__main__":
    main()
