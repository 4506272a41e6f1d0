"""The --sanity pass of a run: every image's maps against those of the randomised copies of the
model (metrics/sanity.py), after the images; sanity.csv and sanity.png.
"""
import logging
import time
from pathlib import Path

import numpy as np

from xai_mexculture.run import exits
from xai_mexculture.run import image_stage

log = logging.getLogger("xai_mexculture")


def build_cascade(model, args):
    """The randomised copy of --sanity (sanity.Cascade), made before the first image so that a model
    the check cannot handle stops the run at once."""
    from xai_mexculture.metrics import sanity
    try:
        return sanity.Cascade(model, args.sanity_layers, args.seed)
    except ValueError as err:
        raise exits.UsageError(f"--sanity: {err}") from None


def run_sanity(args, cascade, methods, explainer_objects, out_dir, errors):
    """The sanity check of every image done with every method (metrics/sanity.py): its maps (maps/*.npy)
    against those of the randomised copy at depths 1..K, with the same seed and key. sanity.csv is
    rewritten atomically after each image; images already in it (--resume) are kept; a failing
    image is reported in `errors` and the others go on. Then sanity.png."""
    from xai_mexculture import explainers
    from xai_mexculture.results import tables
    from xai_mexculture.metrics import sanity
    from xai_mexculture.render import sanity_plot
    from xai_mexculture.core import image_io
    from tqdm import tqdm
    path, depths = out_dir / "sanity.csv", len(cascade.layers)
    results = tables.read_rows(out_dir / "results.csv")
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
                img = image_io.fit_image(image_io.read_rgb(sample.image_path), args.input_size)
                originals = {}
                for method in methods:
                    saved = out_dir / "maps" / f"{Path(sample.name).stem}_{method}.npy"
                    originals[method] = (np.load(saved) if saved.exists() else
                                         image_stage.explain(explainer_objects[method], img, targets[sample.name], sample.name))
                rows += sanity.check_image(cascade, copies, img, targets[sample.name], sample.name, originals, bar)
                sanity.write_rows(path, rows)
            except Exception as err:  # one bad image never stops the check
                log.error("sanity check skipped %s: %s", sample.name, err)
                errors.append((sample.name, f"sanity check: {image_stage.failure(err)}"))
                bar.update(bar_start + len(methods) * depths - bar.n)
    log.info("sanity check: %d image(s) x %d method(s) x %d depth(s) in %.1f s", len(todo), len(methods), depths,
             time.perf_counter() - start)
    if rows:
        sanity.write_rows(path, rows)
        sanity_plot.plot(rows, out_dir / "sanity.png")
