"""The command line of main.py: its flags (with the registered methods' own), their checks, and
what of them changes the numbers (--resume compares those).
"""
import argparse
from pathlib import Path

import constants

from xai_mexculture.core import backend
from xai_mexculture.run import host_clock


# Parameters of the run (besides the methods' own) that change the numbers: --resume refuses to mix
# rows computed with different values.
NUMBER_FLAGS = ("model_sha256", "target", "seed", "step", "gfdm_sigma", "test_gdfm_folder_path",
                "fixations_folder_path", "class_names", "deletion_baseline", "insertion_start",
                "scanpaths_folder_path", "gfdm_weighting", "references", "center_sigma")


# --help's epilog; its times (random-weight ResNet50, 224 x 224) are derived from measured forward rates or
# measured with benchmarks/per_image.py, each labelled in docs/performance.md.
CPU_EPILOG = (
    "Time per image on a ResNet50 at 224 x 224: the defaults make 7,904 model evaluations, about 6 min on a "
    "2-core CPU (derived from its forward rate; 16 min measured with the machine shared) and about 0.7 s on one "
    "H200 GPU. A practical CPU run: --rise_masks 1000 --lime_samples 300 --step 1792 (1,852 evaluations: about 1.5 "
    "min; 3 min measured shared), fewer images (--n_images N), or the CAM methods only (--explanation_method "
    "GRADCAM,FEM, with --step 1792 about 20 s). See docs/performance.md.")


def pre_parse_backend(argv):
    from xai_mexculture.core import parsers
    p = parsers.ArgumentParser(prog="main.py", add_help=False)
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
    from xai_mexculture.core import parsers
    from xai_mexculture import explainers
    p = parsers.ArgumentParser(prog="main.py", description="Explain and evaluate a MexCulture classifier.",
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
    from xai_mexculture import explainers
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
    from xai_mexculture.metrics import references
    try:
        args.references = references.parse(args.references)
    except ValueError as err:
        p.error(f"--references: {err}")
    if args.workers is not None and args.ray is None:
        p.error("--workers needs --ray")
    if args.ray not in (None, "local"):
        from xai_mexculture.run import ray_runner
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
        args.host_workers = host_clock.cores()
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
    from xai_mexculture import explainers
    out = {flag: getattr(args, flag, None) for flag in NUMBER_FLAGS}
    for param in explainers.all_params(methods):
        if param.changes_numbers:
            out[param.flag] = getattr(args, param.flag)
    return out
