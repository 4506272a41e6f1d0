"""One image, from its files to its result rows: read the image and its gaze, predict, explain it
with every method, build the reference maps and score every map with every metric. The serial
run (local_results), the pipelined run (pipeline.run_images: the model stage here, the host
metrics in host processes) and the Ray actors (ray_runner) all call this module; the model and
the explainers of a run are loaded and built here too (load_checked_model, build_explainers).
"""
import dataclasses
import logging
import math
import time
from pathlib import Path

import numpy as np

import constants

from xai_mexculture.core import backend
from xai_mexculture.core import data
from xai_mexculture.run import exits
from xai_mexculture.run import host_clock

log = logging.getLogger("xai_mexculture")


# Switches that turn opt-in metrics on: --NAME turns on the metrics whose `option` is NAME.
METRIC_OPTIONS = ("road",)


def metric_options(args) -> frozenset:
    """The opt-in metric options this run turns on (metrics.ImageData.options)."""
    return frozenset(option for option in METRIC_OPTIONS if getattr(args, option, False))


def explain(explainer, img, target, name):
    """(the saliency map of one method for one image (float32 (H, W) in [0, 1]), its split-half
    reliability (NaN for a deterministic method))."""
    maps, reliability = explainer.explain_details(img[None], [target], keys=[name])
    return maps[0], float(reliability[0])


def map_notes(name, maps, p_full, methods) -> dict:
    """{row: note} of one image's maps: a flat map (no metric; warned, naming the image and the
    method), and on every method's row a class the model does not see (p_full below
    constants.MIN_CLASS_PROBABILITY; warned once)."""
    from xai_mexculture.results import tables
    from xai_mexculture.core import image_io
    notes = {}
    for row, sal in maps.items():
        if image_io.is_flat(sal):
            notes[row] = tables.flat_note()
            log.warning("%s: the %s map is flat (it ranks no pixel): its metrics are left empty", name, row)
    if p_full < constants.MIN_CLASS_PROBABILITY and methods:
        log.warning("%s: %s", name, tables.unseen_note(p_full))
        for row in methods:
            notes[row] = tables.join_notes(notes.get(row, ""), tables.unseen_note(p_full))
    return notes


def load_gaze(sample, args, image_shape):
    """(GFDM (H, W) in [0, 1], fixations (N, 2) in the GFDM's pixels, or None, (fixations outside the
    image, fixations in the file) or None) of a sample; errors name the file. A GFDM built from
    fixations has the image's own shape (H, W) = image_shape; the fixations, in image pixels, are
    moved to the grid of a GFDM of another size; a GFDM of another aspect ratio than its image's is
    refused (data.check_gfdm_shape). Fixations outside the image (data.inside_image, in image pixels)
    are left out, with a warning naming the file and their count; when none is inside, the image keeps
    its GFDM (the metrics that need fixations are left empty), and without a GFDM file it is an error."""
    from xai_mexculture.core import image_io
    fixations, counts = None, None
    if sample.fixation_path:
        fixations = data.read_fixations(sample.fixation_path, durations=True)
        inside = data.inside_image(fixations, image_shape)
        counts = (int((~inside).sum()), len(fixations))
        if not inside.all() or not len(fixations):
            log.warning("%s", data.outside_text(sample.fixation_path, *counts, image_shape))
        fixations = fixations[inside]
    if sample.gfdm_path is not None:
        gfdm = image_io.load_gfdm(sample.gfdm_path)
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
    from xai_mexculture import metrics
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
    from xai_mexculture.metrics import scanpaths
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
    The main thread's host work goes to host_clock.CLOCK."""
    from xai_mexculture import explainers
    from xai_mexculture import metrics
    from xai_mexculture.metrics import references
    from xai_mexculture.results import tables
    from xai_mexculture.metrics import scanpaths
    from xai_mexculture.core import image_io
    from xai_mexculture.core import model_io
    clock, names = host_clock.CLOCK, args.class_names
    with clock.section("reading"):
        original = image_io.read_rgb(sample.image_path)  # decoded once
        if min(original.shape[:2]) < args.min_image_side:
            raise ValueError(f"{sample.name}: the image is {original.shape[1]} x {original.shape[0]} pixels, smaller "
                             f"than the model's {args.min_image_side} x {args.min_image_side} conv grid")
        img = image_io.fit_image(original, args.input_size)
        gfdm, fixations, fixation_counts = load_gaze(sample, args, original.shape[:2])
    probs = model_io.predict_batched(model, img[None], 1, jit=args.jit == "on")[0]
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
                from xai_mexculture.explainers import lime_method
                with clock.section("segmentation"):
                    start = time.perf_counter()
                    made = lime_method.segment(img, explainers.seed_for(explainer.seed, sample.name))
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
    values = evaluate(image, all_maps, skip=skip() if callable(skip) else skip)
    for row, note in map_notes(sample.name, all_maps, float(probs[target]), list(maps)).items():
        values[row]["note"] = note
    gaze = tables.join_notes(gaze_note(sample, fixation_counts, original.shape[:2], image), scanpaths_note)
    for row in values if gaze else ():  # every row's gaze metrics are computed without those fixations
        values[row]["note"] = tables.join_notes(values[row].get("note", ""), gaze)
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
    from xai_mexculture import metrics
    return tuple(m.name for m in metrics.all_metrics() if metrics.is_host(m) and not m.curve)


def process_image(sample, model, args, explainer_objects, scorer, bar=None):
    """Explain and score one image with every method; returns (rows, maps, image data, values, info).
    The serial form of the pipeline (pipeline.py): the model stage, then the host metrics."""
    host = host_metric_names()
    stage = model_stage(sample, model, args, explainer_objects, scorer, bar, skip=host)
    with host_clock.CLOCK.section("host metrics"):
        values = merge_values(stage.values, evaluate(stage.image, stage.maps, only=host))
    rows = image_rows(stage.common, stage.seconds, values)
    return rows, stage.maps, stage.image, values, stage.info


HUMAN_COLUMNS = ("NSS_loo", "AUC_Judd_loo", "PCC_split", "SIM_split", "KLD_split", "NSS_norm", "AUC_Judd_norm")


def evaluate(image, maps, only=None, skip=()):
    """{row: {metric: value}} of the registered metrics (only those named in `only` when given,
    none of `skip`) for the maps of one image, with the HUMAN row when the scanpath columns are
    among them and the image has scanpaths (metrics.evaluate_image, scanpaths.ceiling)."""
    from xai_mexculture import metrics
    from xai_mexculture.metrics import references
    from xai_mexculture.metrics import scanpaths
    values = metrics.evaluate_image(image, maps, only=only, skip=skip)
    if image.has("scanpaths") and any((only is None or c in only) and c not in skip for c in HUMAN_COLUMNS):
        values[references.HUMAN] = scanpaths.ceiling(image, {})[references.HUMAN]
    return values


def merge_values(first, second) -> dict:
    """Two parts of an image's {row: {metric: value}}, rows in the order of `first` then new ones."""
    out = {row: dict(v) for row, v in first.items()}
    for row, v in second.items():
        out.setdefault(row, {}).update(v)
    return out


def failure(err) -> str:
    """What errors.csv says of an image that failed: the message alone for a ValueError (the tool's
    own, naming the file and the problem), the exception's type first for anything else."""
    return str(err) if isinstance(err, ValueError) and str(err) else f"{type(err).__name__}: {err}"


def image_rows(common, seconds, values) -> list:
    """The result rows of one image: the shared columns, the method's seconds, its values."""
    return [dict(common, method=row, seconds=f"{seconds[row]:.4f}" if row in seconds else "", **values[row])
            for row in values]


def save_arrays(out_dir, name, maps, img, gfdm, curves):
    """maps/<image>_<ROW>.npy, inputs/, gfdm/, curves/ (results/saved.py): what report.py redraws from."""
    from xai_mexculture.core import safe_io
    from xai_mexculture.results import saved
    for row, sal in maps.items():
        safe_io.save_npy(Path(out_dir) / "maps" / f"{saved.stem(name)}_{row}.npy", sal)
    saved.save_image(out_dir, name, img, gfdm, curves)


def draw_figures(out_dir, name, img, gfdm, maps, curves, rows, display_type, fmt, show=False):
    """The image's figures from its arrays in memory (figures.draw_memory: what report.py draws from
    the saved files)."""
    from xai_mexculture.render import figures
    return figures.draw_memory(out_dir, name, img, gfdm, maps, curves, rows, display_type, fmt, show)


def baseline_columns(args, p_full, curves) -> dict:
    """The baselines of the run and the class probability of the full image, of the insertion start
    (the first insertion score) and of the fully deleted image (the last deletion score)."""
    from xai_mexculture.metrics import causal
    out = dict(deletion_baseline=causal.fill_label(args.deletion_baseline),
               insertion_start=causal.fill_label(args.insertion_start), p_full=f"{p_full:.6g}")
    for column, metric, index in (("p_start", "Insertion", 0), ("p_end", "Deletion", -1)):
        scores = next(iter(curves.get(metric, {}).values()), None)
        out[column] = f"{scores[index]:.6g}" if scores is not None else ""  # 6 digits of a tiny one too
    return out


def local_results(todo, model, args, explainer_objects, bar=None):
    """Yield (sample, ("ok", (rows, maps, curves, values, info)) | ("error", message)) for each sample,
    computed in this process; the progress bar counts maps."""
    from xai_mexculture.metrics.causal import CurveScorer
    scorer = CurveScorer(model, args.batch_size, args.jit == "on")
    for sample in todo:
        bar_start = bar.n if bar is not None else 0
        try:
            rows, maps, image, values, info = process_image(sample, model, args, explainer_objects, scorer, bar)
            yield sample, ("ok", (rows, maps, image.curves, values, info))
        except Exception as err:  # reported by the writer
            yield sample, ("error", failure(err))
        if bar is not None:
            bar.update(bar_start + len(explainer_objects) - bar.n)


def load_checked_model(args):
    """The model, with its problems found before the first image: unreadable or refused file, a
    number of classes that does not match --class_names."""
    from xai_mexculture.core import model_graph
    from xai_mexculture.core import model_io
    backend.use_compile_cache(getattr(args, "compile_cache", None))  # before the first compilation
    try:
        model = model_io.load_model(args.model_path, trust=args.trust_model)
    except (OSError, ValueError) as err:
        raise exits.UsageError(str(err)) from None
    try:
        n = model_graph.n_classes(model)
    except (AttributeError, IndexError, TypeError):
        raise exits.UsageError(f"{args.model_path}: not a classifier with one output of class probabilities") from None
    if n != len(args.class_names):
        raise exits.UsageError(f"{args.model_path}: the model has {n} classes but {len(args.class_names)} class names "
                         f"are given ({', '.join(args.class_names)}); name the model's classes in its output "
                         f"order with --class_names")
    shape = tuple(model.inputs[0].shape[1:3])
    args.input_size = shape if all(shape) else constants.INPUT_SIZE
    return model


def build_explainers(model, args, errors):
    """One explainer per method; a method that cannot work with this model (e.g. a CAM method and a
    model without conv layers) is reported once in `errors` and left out."""
    from xai_mexculture import explainers
    from xai_mexculture.core import model_graph
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
