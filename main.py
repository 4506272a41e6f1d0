"""Explain a MexCulture classifier with the registered saliency methods (Grad-CAM, FEM, RISE, LIME,
...) and score every map with the registered metrics: against human gaze (PCC, SIM, KLD, NSS,
AUC-Judd) and against the model (Insertion, Deletion AUC).

    python main.py                       # bundled demo data and model, the seed's four methods
    python main.py --test_images_folder_path data/mexculture142/images_test \
        --test_gdfm_folder_path data/mexculture142/gazefixationsdensitymaps \
        --fixations_folder_path data/mexculture142/fixations \
        --scanpaths_folder_path data/mexculture142/scanpaths \
        --model_path models/mexculture_resnet50.keras       # the layout prepare_data.py writes
    python main.py --backend jax         # the same numbers on Keras' JAX backend

Outputs (under --output_dir, default a new outputs/run-YYYYmmdd-HHMMSS): results.csv (one row per
image x method, written as each image finishes), summary.md / summary.csv (mean ± std per method),
comparisons.csv (paired Wilcoxon tests), maps/*.npy, figures/ (per image), plots/ (the run),
report.html (one page to read the run), inputs/, gfdm/, curves/ (what the figures need, so that
`python report.py OUT` redraws them without the model), errors.csv (skipped images and why),
manifest.json; with --sanity also sanity.csv and sanity.png (sanity.py).

Exit status: 0 every image done with every method; 1 no image done; 2 invalid arguments, a locked or
non-empty output folder, or a problem of the model found before the first image; 3 some images or
methods skipped (errors.csv); 4 an unexpected internal error (traceback in OUT/crash.log); 130
interrupted (Ctrl-C) or 143 stopped by SIGTERM, the images finished so far written (--resume goes on).
"""
import argparse
import contextlib
import dataclasses
import datetime
import hashlib
import json
import logging
import math
import os
import platform
import shutil
import sys
import time
from pathlib import Path

import numpy as np

import backend
import constants
import data
import pipeline

log = logging.getLogger("xai_mexculture")
EXIT_OK, EXIT_NOTHING_DONE, EXIT_USAGE, EXIT_PARTIAL, EXIT_INTERNAL = 0, 1, 2, 3, 4
# an interrupted run exits with 128 + the signal's number: 130 for Ctrl-C (SIGINT), 143 for SIGTERM
# What --overwrite clears (the tool's own outputs; nothing else in the folder is touched).
OUTPUTS = ("results.csv", "summary.md", "summary.csv", "comparisons.csv", "errors.csv", "manifest.json",
           "crash.log", "maps", "figures", "sanity.csv", "sanity.png", "report.html",
           "plots", "inputs", "gfdm", "curves")


class UsageError(Exception):
    """A problem found before the first image: bad arguments, folder or model (exit status 2)."""


class Terminated(KeyboardInterrupt):
    """SIGTERM (a scheduler's time limit, `kill`), raised in the main thread as Ctrl-C is."""

# Parameters of the run (besides the methods' own) that change the numbers: --resume refuses to mix
# rows computed with different values.
NUMBER_FLAGS = ("model_sha256", "target", "seed", "step", "gfdm_sigma", "test_gdfm_folder_path",
                "fixations_folder_path", "class_names", "deletion_baseline", "insertion_start",
                "scanpaths_folder_path", "gfdm_weighting", "references", "center_sigma")
# Switches that turn opt-in metrics on: --NAME turns on the metrics whose `option` is NAME.
METRIC_OPTIONS = ("road",)


# --------------------------------------------------------------------------- arguments
# --help's epilog; its times (random-weight ResNet50, 224 x 224) are derived from measured forward rates or
# measured with benchmarks/per_image.py, each labelled in docs/performance.md.
CPU_EPILOG = (
    "Time per image on a ResNet50 at 224 x 224: the defaults make 7,904 model evaluations, about 6 min on a "
    "2-core CPU (derived from its forward rate; 16 min measured with the machine shared) and about 0.7 s on one "
    "H200 GPU. A practical CPU run: --rise_masks 1000 --lime_samples 300 --step 1792 (1,852 evaluations: about 1.5 "
    "min; 3 min measured shared), fewer images (--n_images N), or the CAM methods only (--explanation_method "
    "GRADCAM,FEM, with --step 1792 about 20 s). See docs/performance.md.")


def _pre_parse_backend(argv):
    import cli
    p = cli.ArgumentParser(prog="main.py", add_help=False)
    p.add_argument("--backend", choices=backend.BACKENDS, default=None)
    known, _ = p.parse_known_args(argv)
    return known.backend


def _fill_type(allowed, numbers):
    """argparse type of a baseline flag: one of `allowed`, or (with `numbers`) a number in [0, 255]."""
    def parse(text):
        if text in allowed:
            return text
        try:
            value = float(text)
        except ValueError:
            value = None
        if not numbers or value is None or not 0 <= value <= 255:
            raise argparse.ArgumentTypeError(f"'{text}': expected one of {', '.join(allowed)}"
                                             + (" or a number in [0, 255]" if numbers else ""))
        return value
    return parse


def _shard_type(text):
    """argparse type of --shard INDEX/COUNT -> (index, count)."""
    try:
        index, count = (int(part) for part in text.split("/"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}': expected INDEX/COUNT, e.g. 0/4") from None
    if count < 1 or not 0 <= index < count:
        raise argparse.ArgumentTypeError(f"'{text}': INDEX must be in 0 .. COUNT - 1 and COUNT >= 1")
    return index, count


def _figures_type(text):
    """argparse type of --figures: all, none or first:N (N >= 1); returned normalised."""
    value = text.strip().lower()
    if value in ("all", "none"):
        return value
    head, _, count = value.partition(":")
    if head == "first" and count.strip().isdigit() and int(count) >= 1:
        return f"first:{int(count)}"
    raise argparse.ArgumentTypeError(f"'{text}': expected all, none or first:N with N >= 1 (e.g. first:10)")


def figure_selector(args):
    """fn(image name) -> whether the run draws that image's per-image figures (--display_type,
    --figures: the first N images of the run's list, after --n_images and --shard)."""
    if args.display_type == "none" or args.figures == "none":
        return lambda name: False
    if args.figures == "all":
        return lambda name: True
    chosen = {s.name for s in args.samples[:int(args.figures.split(":")[1])]}
    return lambda name: name in chosen


def shard_samples(samples, shard):
    """The round-robin shard (index, count) of a sorted sample list (all of it when shard is None)."""
    return list(samples) if shard is None else list(samples)[shard[0]::shard[1]]


def build_parser():
    import cli
    import explainers
    p = cli.ArgumentParser(prog="main.py", description="Explain and evaluate a MexCulture classifier.",
                           epilog=CPU_EPILOG)
    p.add_argument("--test_images_folder_path", default=str(constants.DEMO_TEST_IMAGES),
                   help="folder of test images (SSS_XXX_YYY_N_#.png)")
    p.add_argument("--test_gdfm_folder_path", "--test_gfdm_folder_path", dest="test_gdfm_folder_path",
                   default=str(constants.DEMO_TEST_GFDM),
                   help="folder of gaze-fixation density maps (SSS_XXX_YYY_GFDM_N_#.png); the seed's spelling "
                        "(gdfm) and gfdm are the same flag")
    p.add_argument("--fixations_folder_path", default=None,
                   help="folder of fixation files (SSS_XXX_YYY_GazeFix_N_#.txt): enables NSS and "
                        "AUC-Judd, and GFDMs are built from fixations where one is missing "
                        "(default: the demo fixations when running on the demo data)")
    p.add_argument("--scanpaths_folder_path", default=None,
                   help="folder of scanpaths (SSS_XXX_YYY_ScanPath_N_#_P_k.txt, one per participant: x y "
                        "duration per row): adds the human ceiling (reference row HUMAN) and the like-for-like "
                        "columns (default: the demo scanpaths when running on the demo data)")
    p.add_argument("--explanation_method", default="ALL",
                   help=f"one method, a comma-separated list, ALL ({','.join(explainers.default_names())})"
                        f" or EVERY; registered: {', '.join(explainers.names())}")
    p.add_argument("--model_name", default="ResNet", help="backbone family (ResNet, VGG16, ...)")
    p.add_argument("--model_path", default=str(constants.DEMO_MODEL), help="a .keras classifier")
    p.add_argument("--backend", default=None, choices=backend.BACKENDS,
                   help="Keras backend (default: KERAS_BACKEND if set, else tensorflow)")
    p.add_argument("--trust_model", action="store_true",
                   help="load a model that Keras' safe mode refuses (runs code stored in the model file)")
    p.add_argument("--class_names", default=",".join(constants.CLASS_NAMES),
                   help="the model's classes in its output order, comma-separated; an image's class is its "
                        "file name's prefix")
    p.add_argument("--display_type", default="grid", choices=["grid", "singles", "none"],
                   help="one figure per image, one per panel, or no figures")
    p.add_argument("--figure_format", default="png", choices=["png", "pdf", "svg"],
                   help="format of the figures and plots (a PNG preview is written beside a PDF or SVG)")
    p.add_argument("--figures", default="all", type=_figures_type,
                   help="which images get their per-image figures: all, none, or first:N (the first N images of "
                        "the run); the run plots and report.html are written in every case, and `python report.py "
                        "OUT` draws the missing figures later from the saved arrays")
    p.add_argument("--show", action="store_true",
                   help="also open the figures in windows (the run is then serial: see --host_workers)")
    p.add_argument("--output_dir", default=None,
                   help="where everything is written (default: a new folder outputs/run-YYYYmmdd-HHMMSS, "
                        "with outputs/latest pointing to it); an existing non-empty folder needs --resume "
                        "or --overwrite")
    p.add_argument("--overwrite", action="store_true",
                   help="clear the earlier results, maps and figures of --output_dir first")
    p.add_argument("--target", default="true", choices=["true", "predicted"],
                   help="class to explain: from the file name, or the model's prediction")
    p.add_argument("--seed", type=int, default=constants.SEED,
                   help="seed of every random draw (combined with each image's name)")
    p.add_argument("--n_images", type=int, default=None, help="only the first N images (sorted by name)")
    p.add_argument("--shard", default=None, type=_shard_type,
                   help="INDEX/COUNT: only this shard of the images (after --n_images, round-robin: images INDEX, "
                        "INDEX + COUNT, ...; INDEX from 0); each shard writes its own --output_dir, and merge.py "
                        "combines them")
    p.add_argument("--step", type=int, default=constants.STEP, help="pixels per insertion/deletion step")
    p.add_argument("--deletion_baseline", default="black", type=_fill_type(("black", "blur", "mean"), numbers=True),
                   help="what deletion replaces pixels with: black (the RISE paper), blur (the insertion "
                        "start), mean (the image's mean colour) or a number in [0, 255]")
    p.add_argument("--insertion_start", default="blur", type=_fill_type(("blur", "black", "mean"), numbers=False),
                   help="what insertion starts from: blur (Gaussian, sigma 5), black or mean")
    p.add_argument("--gfdm_sigma", type=float, default=None,
                   help=f"Gaussian sigma (pixels) of GFDMs built from fixations and scanpaths (default: "
                        f"{constants.GFDM_SIGMA_MEXCULTURE:g}, about 2 degrees in the MexCulture142 set-up; "
                        f"{constants.GFDM_SIGMA_DEMO:g} on the demo data)")
    p.add_argument("--gfdm_weighting", default="count", choices=["count", "duration"],
                   help="GFDMs built from fixations weight each fixation once or by its duration (when the "
                        "files carry durations)")
    p.add_argument("--references", default="CENTER,RANDOM",
                   help="reference maps scored beside the methods (CENTER, RANDOM, comma-separated, or none)")
    p.add_argument("--center_sigma", type=float, default=0.25,
                   help="sigma of the CENTER reference, as a fraction of the map's shorter side")
    p.add_argument("--batch_size", type=int, default=constants.BATCH_SIZE,
                   help="images per compiled model call (at most)")
    p.add_argument("--jit", default=constants.JIT_COMPILE, choices=["on", "off"],
                   help="XLA compilation (TensorFlow) or jax.jit (JAX) of the batched model calls")
    p.add_argument("--compile_cache", default=None, metavar="DIR|none",
                   help="JAX backend: keep the compiled programs in DIR, so that later runs skip the XLA "
                        "compilations (default: $JAX_COMPILATION_CACHE_DIR if set, else "
                        "~/.cache/xai-mexculture/jax; none: off); the numbers are the same either way")
    p.add_argument("--robustness", action="store_true",
                   help="also compute Max-Sensitivity (10 more explanations per map: slow)")
    p.add_argument("--sanity", action="store_true",
                   help="also run the model-randomisation sanity check (Adebayo et al. 2018): re-explain each "
                        "image with the top --sanity_layers weighted layers re-initialised, one more at a time; "
                        "sanity.csv, sanity.png (--sanity_layers more explanations per map: slow)")
    p.add_argument("--sanity_layers", type=int, default=5,
                   help="with --sanity: how many weighted layers to re-initialise, from the output backwards")
    p.add_argument("--road", action="store_true",
                   help="also compute ROAD_MoRF and ROAD_LeRF (18 noisy linear imputations per map, each a "
                        "sparse solve: about a second per map and order on a 2-core CPU)")
    p.add_argument("--resume", action="store_true",
                   help="continue the run in --output_dir: skip images already in results.csv (refused when "
                        "a parameter that changes the numbers differs)")
    p.add_argument("--no_progress", action="store_true", help="hide the progress bar")
    p.add_argument("--ray", nargs="?", const="local", default=None, metavar="ADDRESS",
                   help="process the images on Ray actors (one model each): a new local Ray instance, or the "
                        "cluster at ADDRESS (e.g. ray://HOST:10001); results are written here as they come")
    p.add_argument("--host_workers", type=int, default=None,
                   help="host processes that do the host work (LIME's segmentation ahead, the gaze metrics, saving "
                        "and the figures behind) while the model works on the next image; 0: all of it in the main "
                        "process, serially (the same numbers either way); not used with --ray or --show "
                        "(default: the number of cores)")
    p.add_argument("--workers", type=int, default=None,
                   help="with --ray: number of actors (default: one per GPU of the cluster, else 2)")
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
    on_demo = Path(args.test_images_folder_path).resolve() == constants.DEMO_TEST_IMAGES.resolve()
    if args.fixations_folder_path is None and on_demo:
        args.fixations_folder_path = str(constants.DEMO_TEST_FIXATIONS)
    if args.scanpaths_folder_path is None and on_demo and constants.DEMO_TEST_SCANPATHS.is_dir():
        args.scanpaths_folder_path = str(constants.DEMO_TEST_SCANPATHS)
    if args.gfdm_sigma is None:
        args.gfdm_sigma = constants.GFDM_SIGMA_DEMO if on_demo else constants.GFDM_SIGMA_MEXCULTURE
    if args.gfdm_sigma <= 0:
        p.error("--gfdm_sigma must be > 0")
    if not 0 < args.center_sigma <= 10:
        p.error("--center_sigma must be in (0, 10]")
    import references
    try:
        args.references = references.parse(args.references)
    except ValueError as err:
        p.error(f"--references: {err}")
    if args.workers is not None and args.ray is None:
        p.error("--workers needs --ray")
    if args.ray not in (None, "local"):
        import ray_runner
        problem = ray_runner.unreachable(args.ray)
        if problem:
            p.error(f"--ray {args.ray}: no Ray cluster answers there ({problem})")
    for name in ("step", "batch_size", "sanity_layers"):
        if getattr(args, name) < 1:
            p.error(f"--{name} must be >= 1")
    if args.seed < 0:
        p.error(f"--seed must be >= 0, not {args.seed}")
    if args.workers is not None and args.workers < 1:
        p.error("--workers must be >= 1")
    if args.host_workers is None:
        args.host_workers = pipeline.cores()
    elif args.host_workers < 0:
        p.error(f"--host_workers must be >= 0 (0: no host process), not {args.host_workers}")
    if args.n_images is not None and args.n_images < 1:
        p.error("--n_images must be >= 1")
    if args.resume and args.overwrite:
        p.error("--resume and --overwrite exclude each other")
    if args.display_type == "none" and args.figures.startswith("first:"):
        p.error(f"--figures {args.figures} chooses images for figures, but --display_type none draws no figure: "
                f"leave one of the two out")
    args.class_names = [c.strip() for c in args.class_names.split(",") if c.strip()]
    if len(args.class_names) < 2 or len(set(c.lower() for c in args.class_names)) != len(args.class_names):
        p.error("--class_names needs at least two distinct names")
    for param in explainers.all_params(args.methods):
        try:
            param.validate(getattr(args, param.flag))
        except ValueError as err:
            p.error(str(err))
    for flag in ("test_images_folder_path", "test_gdfm_folder_path", "fixations_folder_path",
                 "scanpaths_folder_path"):
        folder = getattr(args, flag)
        if folder is not None and not Path(folder).is_dir():
            p.error(f"--{flag} {folder}: no such folder")
    if not Path(args.model_path).exists():
        p.error(f"--model_path {args.model_path}: no such file")
    if Path(args.model_path).is_dir():
        p.error(f"--model_path {args.model_path}: is a folder, not a .keras file (a TensorFlow SavedModel folder "
                f"is not read: load it in Keras and save it with model.save('NAME.keras'))")
    if args.output_dir is not None and Path(args.output_dir).exists() and not Path(args.output_dir).is_dir():
        p.error(f"--output_dir {args.output_dir}: is a file, not a folder")
    return args


def number_parameters(args, methods) -> dict:
    """Every declared parameter that changes the numbers, with its value in this run."""
    import explainers
    out = {flag: getattr(args, flag, None) for flag in NUMBER_FLAGS}
    for param in explainers.all_params(methods):
        if param.changes_numbers:
            out[param.flag] = getattr(args, param.flag)
    return out


def metric_options(args) -> frozenset:
    """The opt-in metric options this run turns on (metrics.ImageData.options)."""
    return frozenset(option for option in METRIC_OPTIONS if getattr(args, option, False))


# --------------------------------------------------------------------------- one image
def explain(explainer, img, target, name):
    """(the saliency map of one method for one image (float32 (H, W) in [0, 1]), its split-half
    reliability (NaN for a deterministic method))."""
    maps, reliability = explainer.explain_details(img[None], [target], keys=[name])
    return maps[0], float(reliability[0])


def map_notes(name, maps, p_full, methods) -> dict:
    """{row: note} of one image's maps: a flat map (no metric; warned, naming the image and the
    method), and on every method's row a class the model does not see (p_full below
    constants.MIN_CLASS_PROBABILITY; warned once)."""
    import constants
    import report
    import utils
    notes = {}
    for row, sal in maps.items():
        if utils.is_flat(sal):
            notes[row] = report.flat_note()
            log.warning("%s: the %s map is flat (it ranks no pixel): its metrics are left empty", name, row)
    if p_full < constants.MIN_CLASS_PROBABILITY and methods:
        log.warning("%s: %s", name, report.unseen_note(p_full))
        for row in methods:
            notes[row] = report.join_notes(notes.get(row, ""), report.unseen_note(p_full))
    return notes


def load_gaze(sample, args, image_shape):
    """(GFDM (H, W) in [0, 1], fixations (N, 2) in the GFDM's pixels, or None, (fixations outside the
    image, fixations in the file) or None) of a sample; errors name the file. A GFDM built from
    fixations has the image's own shape (H, W) = image_shape; the fixations, in image pixels, are
    moved to the grid of a GFDM of another size; a GFDM of another aspect ratio than its image's is
    refused (data.check_gfdm_shape). Fixations outside the image (data.inside_image, in image pixels)
    are left out, with a warning naming the file and their count; when none is inside, the image keeps
    its GFDM (the metrics that need fixations are left empty), and without a GFDM file it is an error."""
    import utils
    fixations, counts = None, None
    if sample.fixation_path:
        fixations = data.read_fixations(sample.fixation_path, durations=True)
        inside = data.inside_image(fixations, image_shape)
        counts = (int((~inside).sum()), len(fixations))
        if not inside.all() or not len(fixations):
            log.warning("%s", data.outside_text(sample.fixation_path, *counts, image_shape))
        fixations = fixations[inside]
    if sample.gfdm_path is not None:
        gfdm = utils.load_gfdm(sample.gfdm_path)
        data.check_gfdm_shape(gfdm.shape, image_shape, sample.gfdm_path, sample.image_path)
        return (gfdm, None if fixations is None else data.rescale_points(fixations[:, :2], image_shape, gfdm.shape),
                counts)
    if fixations is not None:
        if not len(fixations):
            raise ValueError(f"{data.outside_text(sample.fixation_path, *counts, image_shape)}: no fixation inside "
                             f"the image to build its GFDM from (and no GFDM file)")
        weights = data.fixation_weights(fixations, args.gfdm_weighting, sample.fixation_path.name)
        if weights is not None and not np.any(weights > 0):
            raise ValueError(f"{sample.fixation_path}: every fixation inside the image lasts 0: no GFDM can be built "
                             f"from it with --gfdm_weighting duration (and no GFDM file)")
        return data.gfdm_from_fixations(fixations, image_shape, args.gfdm_sigma, weights), fixations[:, :2], counts
    raise ValueError(f"{sample.name}: no GFDM (and no fixation file to build one from)")


def gaze_note(sample, counts, image_shape, image) -> str:
    """The note of an image whose fixation file has fixations outside the image, or none: the file's
    name and the count (data.outside_text), and when none is left the metrics left empty for it
    ("" when every fixation is inside)."""
    import metrics
    if counts is None or (counts[1] and not counts[0]):
        return ""
    note = data.outside_text(sample.fixation_path.name, *counts, image_shape)
    if counts[0] == counts[1]:
        lost = metrics.needing(image, "fixations")
        note += f"; no fixation inside the image{': ' + ', '.join(lost) + ' left empty' if lost else ''}"
    return note


def scanpath_note(sample, participants, image_shape):
    """(the participants' (N, 3) fixations inside the image (data.inside_image, image pixels), a note
    naming each scanpath file with fixations outside the image and its count ("" when none), warned
    once for the image)."""
    import scanpaths
    kept, outside = [], []
    for participant, pts in participants.items():
        inside = data.inside_image(pts, image_shape)
        kept.append(pts[inside])
        if not inside.all():
            outside.append(f"{scanpaths.file_name(Path(sample.name).stem, participant)} "
                           f"{int((~inside).sum())} of {len(pts)}")
    if not outside:
        return kept, ""
    note = (f"scanpath fixations outside the {image_shape[1]} x {image_shape[0]} image left out: "
            f"{', '.join(outside)}")
    log.warning("%s: %s", sample.name, note)
    return kept, note


@dataclasses.dataclass
class ModelStage:
    """The model's part of one image (model_stage): image (metrics.ImageData), maps {row: map} of
    the methods then the references, seconds {method: s}, values {row: {metric: value}} computed so
    far, common: the result columns shared by the image's rows, info: img, gfdm, probs, predicted,
    target."""
    image: object
    maps: dict
    seconds: dict
    values: dict
    common: dict
    info: dict


def model_stage(sample, model, args, explainer_objects, scorer, bar=None, skip=(), segments=None) -> ModelStage:
    """Read one image and its gaze, predict, explain it with every method, build the reference maps
    and score them all with every metric but those named in `skip` (the host metrics done elsewhere;
    or a call that names them, made once the maps are made).
    segments: (LIME segments, seconds) made beforehand by a host process, a call that waits for them
    (made when LIME's turn comes), or None: segmented here.
    The main thread's host work goes to pipeline.CLOCK."""
    import explainers
    import metrics
    import references
    import report
    import scanpaths
    import utils
    clock, names = pipeline.CLOCK, args.class_names
    with clock.section("reading"):
        original = utils.read_rgb(sample.image_path)  # decoded once
        if min(original.shape[:2]) < args.min_image_side:
            raise ValueError(f"{sample.name}: the image is {original.shape[1]} x {original.shape[0]} pixels, smaller "
                             f"than the model's {args.min_image_side} x {args.min_image_side} conv grid")
        img = utils.fit_image(original, args.input_size)
        gfdm, fixations, fixation_counts = load_gaze(sample, args, original.shape[:2])
    probs = utils.predict_batched(model, img[None], 1, jit=args.jit == "on")[0]
    predicted = int(probs.argmax())
    target = data.class_index(sample.name, names) if args.target == "true" else predicted
    maps, seconds, reliability = {}, {}, {}
    for method, explainer in explainer_objects.items():
        if bar is not None:
            bar.set_postfix_str(f"{sample.name} {method}")
        extra = 0.0
        if hasattr(explainer, "give_segments"):  # LIME: the segmentation is host work
            if callable(segments):
                segments = segments()
            if segments is None:
                import LIME
                with clock.section("segmentation"):
                    start = time.perf_counter()
                    made = LIME.segment(img, explainers.seed_for(explainer.seed, sample.name))
                    segments = (made, time.perf_counter() - start)
            explainer.give_segments(img, sample.name, segments[0])
            extra = segments[1]
        start = time.perf_counter()
        maps[method], reliability[method] = explain(explainer, img, target, sample.name)
        seconds[method] = time.perf_counter() - start + extra  # the segmentation included, wherever made
        if bar is not None:
            bar.update(1)
    with clock.section("gaze"):
        other = (data.other_fixations(args.fixation_set, sample.name, gfdm.shape)
                 if getattr(args, "fixation_set", None) else None)
        seed = explainers.seed_for(args.seed, sample.name)
        reference_maps, native = references.maps(args.references, img.shape[:2], seed, center_sigma=args.center_sigma)
        participants = (getattr(args, "scanpath_index", None) or {}).get(Path(sample.name).stem)
        scanpaths_note = ""
        if participants:
            participants, scanpaths_note = scanpath_note(sample, participants, original.shape[:2])
            participants = scanpaths.to_map(participants, original.shape[:2], gfdm.shape)
        scale = (gfdm.shape[0] / original.shape[0] + gfdm.shape[1] / original.shape[1]) / 2
    image = metrics.ImageData(sample.name, img, target, gfdm, fixations, model, scorer, args.step,
                              seed=seed, other_fixations=other, scanpaths=participants or None,
                              scanpath_sigma=args.gfdm_sigma * scale, gfdm_weighting=args.gfdm_weighting,
                              native=native,
                              explainers=explainer_objects if args.robustness else None,
                              deletion_baseline=args.deletion_baseline, insertion_start=args.insertion_start,
                              options=metric_options(args))
    all_maps = {**maps, **reference_maps}
    values = pipeline.evaluate(image, all_maps, skip=skip() if callable(skip) else skip)
    for row, note in map_notes(sample.name, all_maps, float(probs[target]), list(maps)).items():
        values[row]["note"] = note
    gaze = report.join_notes(gaze_note(sample, fixation_counts, original.shape[:2], image), scanpaths_note)
    for row in values if gaze else ():  # every row's gaze metrics are computed without those fixations
        values[row]["note"] = report.join_notes(values[row].get("note", ""), gaze)
    for method, value in reliability.items():
        if math.isfinite(value):
            values[method]["reliability"] = value
    common = dict(image=sample.name, true_class=data.class_name(sample.name, names), target_class=names[target],
                  predicted_class=names[predicted], confidence=f"{probs[predicted]:.6f}",
                  **baseline_columns(args, probs[target], image.curves))
    info = dict(img=img, gfdm=gfdm, probs=probs, predicted=predicted, target=target)
    return ModelStage(image, all_maps, seconds, values, common, info)


def host_metric_names() -> tuple:
    """The registered metrics that need neither the model nor the explainers (no curve metric)."""
    import metrics
    return tuple(m.name for m in metrics.all_metrics() if metrics.is_host(m) and not m.curve)


def process_image(sample, model, args, explainer_objects, scorer, bar=None):
    """Explain and score one image with every method; returns (rows, maps, image data, values, info).
    The serial form of the pipeline (pipeline.py): the model stage, then the host metrics."""
    host = host_metric_names()
    stage = model_stage(sample, model, args, explainer_objects, scorer, bar, skip=host)
    with pipeline.CLOCK.section("host metrics"):
        values = pipeline.merge_values(stage.values, pipeline.evaluate(stage.image, stage.maps, only=host))
    rows = pipeline.image_rows(stage.common, stage.seconds, values)
    return rows, stage.maps, stage.image, values, stage.info


def baseline_columns(args, p_full, curves) -> dict:
    """The baselines of the run and the class probability of the full image, of the insertion start
    (the first insertion score) and of the fully deleted image (the last deletion score)."""
    import evaluate
    out = dict(deletion_baseline=evaluate.fill_label(args.deletion_baseline),
               insertion_start=evaluate.fill_label(args.insertion_start), p_full=f"{p_full:.6g}")
    for column, metric, index in (("p_start", "Insertion", 0), ("p_end", "Deletion", -1)):
        scores = next(iter(curves.get(metric, {}).values()), None)
        out[column] = f"{scores[index]:.6g}" if scores is not None else ""  # 6 digits of a tiny one too
    return out


class ImageFailed(Exception):
    """An image whose explanation or scoring failed (the message says why)."""


def local_results(todo, model, args, explainer_objects, bar=None):
    """Yield (sample, ("ok", (rows, maps, curves, values, info)) | ("error", message)) for each sample,
    computed in this process; the progress bar counts maps."""
    from evaluate import CurveScorer
    scorer = CurveScorer(model, args.batch_size, args.jit == "on")
    for sample in todo:
        bar_start = bar.n if bar is not None else 0
        try:
            rows, maps, image, values, info = process_image(sample, model, args, explainer_objects, scorer, bar)
            yield sample, ("ok", (rows, maps, image.curves, values, info))
        except Exception as err:  # reported by the writer
            yield sample, ("error", pipeline.failure(err))
        if bar is not None:
            bar.update(bar_start + len(explainer_objects) - bar.n)


# --------------------------------------------------------------------------- the output folder
def file_sha256(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def new_run_folder(root=Path("outputs")) -> Path:
    """A new folder root/run-YYYYmmdd-HHMMSS (-2, -3, ... when taken), and root/latest pointing to it."""
    root.mkdir(parents=True, exist_ok=True)
    stamp = datetime.datetime.now().strftime("run-%Y%m%d-%H%M%S")
    for i in range(1, 1000):
        folder = root / (stamp if i == 1 else f"{stamp}-{i}")
        try:
            folder.mkdir()
            break
        except FileExistsError:
            continue
    latest, tmp = root / "latest", root / f".latest.{os.getpid()}"
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    tmp.symlink_to(folder.name)
    os.replace(tmp, latest)
    return folder


def output_folder(args) -> Path:
    """The run's folder (created); the default is a new dated folder under outputs/."""
    if args.output_dir is None:
        try:
            return new_run_folder()
        except OSError as err:  # outputs/ read-only, or a file of that name
            raise UsageError(f"outputs: cannot make the run's folder there ({err.strerror or err}); give "
                             f"--output_dir a folder this user can write to") from None
    out_dir = Path(args.output_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as err:  # a file on the way, no permission, a read-only or virtual file system, ...
        raise UsageError(f"--output_dir {out_dir}: cannot be used as a folder ({err.strerror or err})") from None
    return out_dir


def claim_folder(out_dir, args):
    """With the lock held: a non-empty folder needs --resume or --overwrite; --overwrite clears the
    tool's own earlier outputs."""
    import runlock
    present = sorted(p.name for p in out_dir.iterdir() if p.name != runlock.LOCK_NAME)
    if not present or args.resume:
        return
    if not args.overwrite:
        raise UsageError(f"--output_dir {out_dir} is not empty ({', '.join(present[:5])}"
                         f"{', ...' if len(present) > 5 else ''}): add --resume to continue that run, "
                         f"--overwrite to replace it, or choose another folder")
    for name in OUTPUTS:
        path = out_dir / name
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()


def write_manifest(args, out_dir, methods, n_images, numbers):
    import safe_io
    from importlib import metadata
    versions = {}
    for pkg in ("tensorflow", "tensorflow-cpu", "jax", "jaxlib", "keras", "numpy", "opencv-python-headless",
                "lime", "scikit-image", "matplotlib", "scipy"):
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            pass
    params = {k: v for k, v in vars(args).items()
              if k not in ("methods", "samples", "input_size", "min_image_side", "fixation_set", "scanpath_index")}
    manifest = dict(date=datetime.datetime.now(datetime.timezone.utc).isoformat(),
                    command=" ".join(sys.argv), output_dir=str(out_dir), parameters=params, methods=methods,
                    backend=backend.name(), numbers=numbers, n_images=n_images,
                    images=[s.name for s in getattr(args, "samples", ())],
                    model_sha256=numbers["model_sha256"], python=platform.python_version(),
                    platform=platform.platform(), packages=versions)
    safe_io.write_text(out_dir / "manifest.json", json.dumps(manifest, indent=2, default=str))


def check_resume(out_dir, numbers) -> dict:
    """--resume only continues a run made with the same number-changing parameters. Methods may be
    added (their parameters are new keys) or left out (the parameters of a method this run does not
    make are not compared). Returns the numbers to record: the earlier run's, updated with this
    run's, so that the parameters of a method left out now are still checked when it comes back."""
    path = out_dir / "manifest.json"
    if not path.exists():
        return numbers
    try:
        old = json.loads(path.read_text()).get("numbers", {})
    except ValueError:
        raise UsageError(f"{path}: not a readable manifest; cannot resume safely (use --overwrite)") from None
    new = json.loads(json.dumps(numbers, default=str))
    differ = [f"--{k} {old[k]!r} -> {new[k]!r}" for k in sorted(old) if k in new and old[k] != new[k]]
    if differ:
        raise UsageError(f"--resume in {out_dir}: these parameters differ from the earlier run, so its rows "
                         f"cannot be mixed with new ones: {'; '.join(differ)}")
    return {**old, **numbers}


def check_columns(results_path):
    """--resume appends to results.csv only when its columns are this version's."""
    import report
    if not results_path.exists() or results_path.stat().st_size == 0:
        return
    with results_path.open(newline="") as f:
        header = f.readline().strip().split(",")
    if header != report.columns():
        missing = [c for c in report.columns() if c not in header]
        raise UsageError(f"--resume in {results_path.parent}: results.csv has other columns than this version "
                         f"writes (missing: {', '.join(missing) or 'none'}); its rows cannot be continued "
                         f"(use --overwrite or another --output_dir)")


# --------------------------------------------------------------------------- the model, checked once
def load_checked_model(args):
    """The model, with its problems found before the first image: unreadable or refused file, a
    number of classes that does not match --class_names."""
    import model_graph
    import utils
    backend.use_compile_cache(getattr(args, "compile_cache", None))  # before the first compilation
    try:
        model = utils.load_model(args.model_path, trust=args.trust_model)
    except (OSError, ValueError) as err:
        raise UsageError(str(err)) from None
    try:
        n = model_graph.n_classes(model)
    except (AttributeError, IndexError, TypeError):
        raise UsageError(f"{args.model_path}: not a classifier with one output of class probabilities") from None
    if n != len(args.class_names):
        raise UsageError(f"{args.model_path}: the model has {n} classes but {len(args.class_names)} class names "
                         f"are given ({', '.join(args.class_names)}); name the model's classes in its output "
                         f"order with --class_names")
    shape = tuple(model.inputs[0].shape[1:3])
    args.input_size = shape if all(shape) else constants.INPUT_SIZE
    return model


def build_explainers(model, args, errors):
    """One explainer per method; a method that cannot work with this model (e.g. a CAM method and a
    model without conv layers) is reported once in `errors` and left out."""
    import explainers
    import model_graph
    built = {}
    for method in args.methods:
        try:
            built[method] = explainers.build(method, model, args.model_name, args.batch_size, args.seed,
                                             args.jit == "on", vars(args))
        except (ValueError, TypeError) as err:
            log.error("%s cannot be used with this model: %s", method, err)
            errors.append(("(every image)", f"{method} cannot be used with this model: {err}"))
    try:
        side = min(model_graph.activation_shape(model, model_graph.get_last_layer_name(model, args.model_name))[:2])
    except ValueError:
        side = 1
    args.min_image_side = side
    return built


# --------------------------------------------------------------------------- the sanity check
def build_cascade(model, args):
    """The randomised copy of --sanity (sanity.Cascade), made before the first image so that a model
    the check cannot handle stops the run at once."""
    import sanity
    try:
        return sanity.Cascade(model, args.sanity_layers, args.seed)
    except ValueError as err:
        raise UsageError(f"--sanity: {err}") from None


def run_sanity(args, cascade, methods, explainer_objects, out_dir, errors):
    """The sanity check of every image done with every method (sanity.py): its maps (maps/*.npy)
    against those of the randomised copy at depths 1..K, with the same seed and key. sanity.csv is
    rewritten atomically after each image; images already in it (--resume) are kept; a failing
    image is reported in `errors` and the others go on. Then sanity.png."""
    import explainers
    import report
    import sanity
    import utils
    from tqdm import tqdm
    path, depths = out_dir / "sanity.csv", len(cascade.layers)
    results = report.read_rows(out_dir / "results.csv")
    done_methods, targets = {}, {}
    for r in results:
        done_methods.setdefault(r["image"], set()).add(r["method"])
        targets[r["image"]] = args.class_names.index(r["target_class"])
    have = {}
    for r in sanity.read_rows(path):
        have.setdefault(r["image"], []).append(r)
    need = {(m, d) for m in methods for d in range(1, depths + 1)}
    kept = [r for rows in have.values() if need <= {(r["method"], r["randomised_layers"]) for r in rows}
            for r in rows if r["method"] in methods]
    kept_images = {r["image"] for r in kept}
    todo = [s for s in args.samples if set(methods) <= done_methods.get(s.name, set()) and s.name not in kept_images]
    copies = {m: explainers.build(m, cascade.model, args.model_name, args.batch_size, args.seed, args.jit == "on",
                                  vars(args)) for m in methods} if todo else {}
    rows, start = kept, time.perf_counter()
    with tqdm(total=len(todo) * len(methods) * depths, unit="map", desc="sanity", disable=args.no_progress,
              dynamic_ncols=True) as bar:
        for sample in todo:
            bar_start = bar.n
            try:
                img = utils.fit_image(utils.read_rgb(sample.image_path), args.input_size)
                originals = {}
                for method in methods:
                    saved = out_dir / "maps" / f"{Path(sample.name).stem}_{method}.npy"
                    originals[method] = (np.load(saved) if saved.exists() else
                                         explain(explainer_objects[method], img, targets[sample.name], sample.name))
                rows += sanity.check_image(cascade, copies, img, targets[sample.name], sample.name, originals, bar)
                sanity.write_rows(path, rows)
            except Exception as err:  # one bad image never stops the check
                log.error("sanity check skipped %s: %s", sample.name, err)
                errors.append((sample.name, f"sanity check: {pipeline.failure(err)}"))
                bar.update(bar_start + len(methods) * depths - bar.n)
    log.info("sanity check: %d image(s) x %d method(s) x %d depth(s) in %.1f s", len(todo), len(methods), depths,
             time.perf_counter() - start)
    if rows:
        sanity.write_rows(path, rows)
        sanity.plot(rows, out_dir / "sanity.png")


# --------------------------------------------------------------------------- the run
def run(args, out_dir) -> int:
    """The whole run, with the folder's lock held. Returns the exit status."""
    import safe_io
    claim_folder(out_dir, args)
    safe_io.remove_stale_temporaries(out_dir)
    results_path = out_dir / "results.csv"
    numbers = number_parameters(args, args.methods)
    numbers["model_sha256"] = file_sha256(args.model_path)
    numbers["class_names"] = ",".join(args.class_names)
    numbers["robustness"] = args.robustness
    numbers["shard"] = "/".join(map(str, args.shard)) if args.shard else None
    if args.sanity:
        numbers["sanity_layers"] = args.sanity_layers
    for option in METRIC_OPTIONS:
        numbers[option] = bool(getattr(args, option, False))
    args.fixation_set = None
    if args.fixations_folder_path:
        args.fixation_set, numbers["fixation_set_sha256"] = data.fixation_set(
            args.fixations_folder_path, args.test_images_folder_path, args.test_gdfm_folder_path)
    args.scanpath_index, scanpath_problems = {}, []
    if args.scanpaths_folder_path:
        import scanpaths
        args.scanpath_index, scanpath_problems, numbers["scanpaths_sha256"] = scanpaths.read_folder(
            args.scanpaths_folder_path)
    if args.resume:
        numbers = check_resume(out_dir, numbers)
        check_columns(results_path)
    pipeline.CLOCK.reset()
    pipeline.CLOCK.mark("start")
    pool = None
    if args.host_workers > 0 and args.ray is None and not args.show:
        pool = pipeline.HostPool(min(args.host_workers, len(args.samples)))  # starts while the model loads
    try:
        return _run(args, out_dir, results_path, numbers, scanpath_problems, pool)
    finally:
        if pool is not None:
            pool.close()


def finished_rows(args, methods, sample) -> set:
    """The rows of `sample` in results.csv once it is done: one per method and reference map, and
    HUMAN where it has the scanpaths of two participants or more (a resumed run redoes an image that
    lacks any, e.g. a reference row torn by a kill, and appends only the missing rows)."""
    import metrics
    import references
    rows = set(methods) | set(args.references)
    participants = (getattr(args, "scanpath_index", None) or {}).get(Path(sample.name).stem) or {}
    return rows | {references.HUMAN} if len(participants) >= metrics.MIN_SCANPATHS else rows


def _run(args, out_dir, results_path, numbers, scanpath_problems, pool) -> int:
    import report
    clock = pipeline.CLOCK
    model = load_checked_model(args)
    clock.mark("model")
    errors = [(name, f"scanpath left out: {reason}") for name, reason in scanpath_problems]
    explainer_objects = build_explainers(model, args, errors)
    clock.mark("explainers")
    methods = list(explainer_objects)
    cascade = build_cascade(model, args) if args.sanity else None
    samples = args.samples
    maps_dir, fig_dir = out_dir / "maps", out_dir / "figures"
    for d in (maps_dir, fig_dir):
        d.mkdir(exist_ok=True)
    write_manifest(args, out_dir, args.methods, len(samples), numbers)
    done = {}
    for row in report.read_rows(results_path, repair=True):
        done.setdefault(row["image"], set()).add(row["method"])
    todo = [s for s in samples if methods and not finished_rows(args, methods, s) <= done.get(s.name, set())]
    if args.resume and len(todo) < len(samples):
        log.info("resuming: %d of %d images already done", len(samples) - len(todo), len(samples))
    from tqdm import tqdm
    on_ray = args.ray is not None and todo and methods
    total, unit = (len(todo), "image") if on_ray else (len(todo) * len(methods), "map")
    figure_for = figure_selector(args)
    clock.mark("images")

    def deliver(sample, outcome):
        """The one writer: an image's rows appended to results.csv (its arrays and figures first,
        when made in this process), or its error; in the pipelined run called by its writer thread."""
        status, result = outcome
        try:
            if status == "error":
                raise ImageFailed(result)
            if status == "written":  # saved and drawn by a host process
                rows = result
            else:
                rows, maps, curves, values, info = result
                with clock.section("saving"):
                    pipeline.save_arrays(out_dir, sample.name, maps, info["img"], info["gfdm"], curves)
                if figure_for(sample.name):
                    with clock.section("figures"):
                        pipeline.draw_figures(out_dir, sample.name, info["img"], info["gfdm"], maps, curves, rows,
                                              args.display_type, args.figure_format, args.show)
            with clock.section("writing"):
                report.append_rows(results_path, [r for r in rows if r["method"] not in done.get(sample.name, ())])
        except Exception as err:  # one bad image never stops the batch
            reason = str(err) if isinstance(err, ImageFailed) else pipeline.failure(err)
            log.error("skipped %s: %s", sample.name, reason)  # the image, then what failed (naming its file)
            errors.append((sample.name, reason))

    with tqdm(total=total, unit=unit, disable=args.no_progress, dynamic_ncols=True) as bar:
        if on_ray:
            import ray_runner
            outcomes = ray_runner.results(args, todo, bar, None if args.ray == "local" else args.ray, args.workers)
        elif pool is not None and todo and methods:  # its writer thread calls deliver
            outcomes = pipeline.run_images(todo, model, args, explainer_objects, bar, pool, out_dir, deliver)
        else:
            outcomes = local_results(todo, model, args, explainer_objects, bar)
        for sample, outcome in outcomes or ():
            deliver(sample, outcome)
    clock.mark("images_done")
    if todo and methods:
        log.info("host work: %s", clock.summary())
    if cascade is not None:
        run_sanity(args, cascade, methods, explainer_objects, out_dir, errors)
    _write_errors(out_dir / "errors.csv", errors)
    rows = report.read_rows(results_path)
    import references
    import style
    # a resumed run that left methods out still reports theirs (their rows are in results.csv)
    shown = list(dict.fromkeys(methods + [r["method"] for r in rows if not style.is_reference(r["method"])]))
    text = report.write_tables(out_dir, rows, shown, args.references + [references.HUMAN])
    clock.mark("tables")
    with clock.section("plots"):  # the main thread's part (the whole of it without host processes)
        report.rebuild(out_dir, args.display_type, args.figure_format, images=False, progress=False, pool=pool)
    if pool is not None:
        pool.close()  # its processes end here (their CPU time is then the children's of this process)
    clock.mark("plots")
    if rows:
        print(_predictions_table(rows, methods))
        print(text)
    if errors:
        print(f"{len(errors)} problem(s) (see {out_dir / 'errors.csv'}):")
        for name, reason in errors:
            print(f"  {name}: {reason}")
    print(f"outputs in {out_dir.resolve()}")
    clock.mark("end")
    completed = {r["image"] for r in rows}
    if not completed:
        print("error: no image completed (the reasons are above)", file=sys.stderr)
        return EXIT_NOTHING_DONE
    all_done = all(set(args.methods) <= {r["method"] for r in rows if r["image"] == s.name} for s in samples)
    return EXIT_OK if all_done and not errors else EXIT_PARTIAL


def _predictions_table(rows, methods):
    seen, lines = set(), ["image | true | predicted (confidence)"]
    for r in rows:
        if r["image"] in seen:
            continue
        seen.add(r["image"])
        lines.append(f"{r['image']} | {r['true_class'] or '?'} | {r['predicted_class']} ({r['confidence']:.2f})")
    first = [r for r in rows if r["method"] == methods[0]] if methods else []
    correct = sum(1 for r in first if r["true_class"] == r["predicted_class"])
    if first:
        lines.append(f"accuracy: {correct}/{len(first)} = {correct / len(first):.3f}")
    return "\n".join(lines) + "\n"


def _write_errors(path, errors):
    import csv
    import safe_io
    with safe_io.replacing(path) as tmp, Path(tmp).open("w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")  # as every CSV of a run
        writer.writerow(["image", "reason"])
        writer.writerows(errors)


def _fail(status, message) -> int:
    print(f"error: {message}", file=sys.stderr)
    return status


def main(argv=None) -> int:
    """Run the command line; returns the exit status (see the module docstring)."""
    import runlock
    if "tensorflow" not in sys.modules:  # TensorFlow's C++ start-up chatter, before it is loaded
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    logging.getLogger("absl").setLevel(logging.ERROR)
    logging.getLogger("jax").setLevel(logging.WARNING)
    try:
        backend.select_backend(_pre_parse_backend(argv))
    except (RuntimeError, ValueError) as err:
        return _fail(EXIT_USAGE, err)
    args = parse_args(argv)
    try:
        args.samples = data.pair_samples(args.test_images_folder_path, args.test_gdfm_folder_path,
                                         args.fixations_folder_path)[:args.n_images]
    except OSError as err:
        return _fail(EXIT_USAGE, err)
    if not args.samples:
        return _fail(EXIT_USAGE, f"no images in {args.test_images_folder_path}")
    n_all = len(args.samples)
    args.samples = shard_samples(args.samples, args.shard)
    if not args.samples:
        return _fail(EXIT_USAGE, f"--shard {args.shard[0]}/{args.shard[1]}: no image in this shard ({n_all} images "
                                 f"in all; use at most {n_all} shards)")
    out_dir = None
    existed = args.output_dir is not None and Path(args.output_dir).exists()
    try:
        out_dir = output_folder(args)
        with runlock.RunLock(out_dir), _terminate_as_interrupt():
            try:
                return run(args, out_dir)
            except UsageError:
                raise
            except KeyboardInterrupt as err:  # what was finished is written (results.csv is per image)
                import signal
                signum = signal.SIGTERM if isinstance(err, Terminated) else signal.SIGINT
                print(f"interrupted ({signum.name}): the images finished so far are in "
                      f"{(out_dir / 'results.csv').resolve()}; the same command with --resume finishes the run",
                      file=sys.stderr)
                return 128 + signum
            except Exception:  # an unexpected internal error: keep the traceback
                import traceback
                crash = out_dir / "crash.log"
                crash.write_text(traceback.format_exc())
                print(f"internal error: {traceback.format_exc().strip().splitlines()[-1]}\n"
                      f"the traceback is in {crash.resolve()}", file=sys.stderr)
                return EXIT_INTERNAL
    except (UsageError, runlock.FolderLocked) as err:
        if not existed:
            _remove_if_unused(out_dir)
        return _fail(EXIT_USAGE, err)
    except runlock.FolderUnwritable as err:  # a read-only folder or file system: no lock, nothing written
        return _fail(EXIT_USAGE, f"--output_dir {err}" if args.output_dir is not None else err)


@contextlib.contextmanager
def _terminate_as_interrupt():
    """SIGTERM raises Terminated (a KeyboardInterrupt) in the main thread while the run lasts, so a
    run stopped by a scheduler or `kill` ends as after Ctrl-C: the finished images written, the lock
    released, the host processes stopped."""
    import signal
    import threading
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum, frame):
        raise Terminated()
    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _remove_if_unused(folder):
    """A folder this run created and left holding only its lock file is removed again."""
    import runlock
    if folder is None or not folder.is_dir():
        return
    entries = list(folder.iterdir())
    if [p.name for p in entries] == [runlock.LOCK_NAME]:
        try:
            entries[0].unlink()
            folder.rmdir()
        except OSError:
            pass


if __name__ == "__main__":
    sys.exit(main())
