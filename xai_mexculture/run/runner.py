"""One run of main.py in its locked output folder: the model and explainers loaded once, the images
done serially, pipelined with host processes, or on Ray, each written as it finishes; then the
errors, the tables, the plots and report.html.
"""
import logging
import sys
from pathlib import Path

from xai_mexculture.core import data
from xai_mexculture.run import exits
from xai_mexculture.run import host_clock
from xai_mexculture.run import image_stage
from xai_mexculture.run import options
from xai_mexculture.run import pipeline
from xai_mexculture.run import run_folder
from xai_mexculture.run import sanity_pass

log = logging.getLogger("xai_mexculture")


def run(args, out_dir) -> int:
    """The whole run, with the folder's lock held. Returns the exit status."""
    from xai_mexculture.core import safe_io
    run_folder.claim_folder(out_dir, args)
    safe_io.remove_stale_temporaries(out_dir)
    results_path = out_dir / "results.csv"
    numbers = options.number_parameters(args, args.methods)
    numbers["model_sha256"] = run_folder.file_sha256(args.model_path)
    numbers["class_names"] = ",".join(args.class_names)
    numbers["robustness"] = args.robustness
    numbers["shard"] = "/".join(map(str, args.shard)) if args.shard else None
    if args.sanity:
        numbers["sanity_layers"] = args.sanity_layers
    for option in image_stage.METRIC_OPTIONS:
        numbers[option] = bool(getattr(args, option, False))
    args.fixation_set = None
    if args.fixations_folder_path:
        args.fixation_set, numbers["fixation_set_sha256"] = data.fixation_set(
            args.fixations_folder_path, args.test_images_folder_path, args.test_gdfm_folder_path)
    args.scanpath_index, scanpath_problems = {}, []
    if args.scanpaths_folder_path:
        from xai_mexculture.metrics import scanpaths
        args.scanpath_index, scanpath_problems, numbers["scanpaths_sha256"] = scanpaths.read_folder(
            args.scanpaths_folder_path)
    if args.resume:
        numbers = run_folder.check_resume(out_dir, numbers)
        run_folder.check_columns(results_path)
    host_clock.CLOCK.reset()
    host_clock.CLOCK.mark("start")
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
    from xai_mexculture import metrics
    from xai_mexculture.metrics import references
    rows = set(methods) | set(args.references)
    participants = (getattr(args, "scanpath_index", None) or {}).get(Path(sample.name).stem) or {}
    return rows | {references.HUMAN} if len(participants) >= metrics.MIN_SCANPATHS else rows


def _run(args, out_dir, results_path, numbers, scanpath_problems, pool) -> int:
    from xai_mexculture.render import rebuild
    from xai_mexculture.results import tables
    clock = host_clock.CLOCK
    model = image_stage.load_checked_model(args)
    clock.mark("model")
    errors = [(name, f"scanpath left out: {reason}") for name, reason in scanpath_problems]
    explainer_objects = image_stage.build_explainers(model, args, errors)
    clock.mark("explainers")
    methods = list(explainer_objects)
    cascade = sanity_pass.build_cascade(model, args) if args.sanity else None
    samples = args.samples
    maps_dir, fig_dir = out_dir / "maps", out_dir / "figures"
    for d in (maps_dir, fig_dir):
        d.mkdir(exist_ok=True)
    run_folder.write_manifest(args, out_dir, args.methods, len(samples), numbers)
    done = {}
    for row in tables.read_rows(results_path, repair=True):
        done.setdefault(row["image"], set()).add(row["method"])
    todo = [s for s in samples if methods and not finished_rows(args, methods, s) <= done.get(s.name, set())]
    if args.resume and len(todo) < len(samples):
        log.info("resuming: %d of %d images already done", len(samples) - len(todo), len(samples))
    from tqdm import tqdm
    on_ray = args.ray is not None and todo and methods
    total, unit = (len(todo), "image") if on_ray else (len(todo) * len(methods), "map")
    figure_for = options.figure_selector(args)
    clock.mark("images")

    def deliver(sample, outcome):
        """The one writer: an image's rows appended to results.csv (its arrays and figures first,
        when made in this process), or its error; in the pipelined run called by its writer thread."""
        status, result = outcome
        try:
            if status == "error":
                raise exits.ImageFailed(result)
            if status == "written":  # saved and drawn by a host process
                rows = result
            else:
                rows, maps, curves, values, info = result
                with clock.section("saving"):
                    image_stage.save_arrays(out_dir, sample.name, maps, info["img"], info["gfdm"], curves)
                if figure_for(sample.name):
                    with clock.section("figures"):
                        image_stage.draw_figures(out_dir, sample.name, info["img"], info["gfdm"], maps, curves, rows,
                                              args.display_type, args.figure_format, args.show)
            with clock.section("writing"):
                tables.append_rows(results_path, [r for r in rows if r["method"] not in done.get(sample.name, ())])
        except Exception as err:  # one bad image never stops the batch
            reason = str(err) if isinstance(err, exits.ImageFailed) else image_stage.failure(err)
            log.error("skipped %s: %s", sample.name, reason)  # the image, then what failed (naming its file)
            errors.append((sample.name, reason))

    with tqdm(total=total, unit=unit, disable=args.no_progress, dynamic_ncols=True) as bar:
        if on_ray:
            from xai_mexculture.run import ray_runner
            outcomes = ray_runner.results(args, todo, bar, None if args.ray == "local" else args.ray, args.workers)
        elif pool is not None and todo and methods:  # its writer thread calls deliver
            outcomes = pipeline.run_images(todo, model, args, explainer_objects, bar, pool, out_dir, deliver)
        else:
            outcomes = image_stage.local_results(todo, model, args, explainer_objects, bar)
        for sample, outcome in outcomes or ():
            deliver(sample, outcome)
    clock.mark("images_done")
    if todo and methods:
        log.info("host work: %s", clock.summary())
    if cascade is not None:
        sanity_pass.run_sanity(args, cascade, methods, explainer_objects, out_dir, errors)
    _write_errors(out_dir / "errors.csv", errors)
    rows = tables.read_rows(results_path)
    from xai_mexculture.metrics import references
    # a resumed run that left methods out still reports theirs (their rows are in results.csv)
    shown = list(dict.fromkeys(methods + [r["method"] for r in rows if not references.is_reference(r["method"])]))
    text = tables.write_tables(out_dir, rows, shown, args.references + [references.HUMAN])
    clock.mark("tables")
    with clock.section("plots"):  # the main thread's part (the whole of it without host processes)
        rebuild.rebuild(out_dir, args.display_type, args.figure_format, images=False, progress=False, pool=pool)
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
        return exits.EXIT_NOTHING_DONE
    all_done = all(set(args.methods) <= {r["method"] for r in rows if r["image"] == s.name} for s in samples)
    return exits.EXIT_OK if all_done and not errors else exits.EXIT_PARTIAL


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
    from xai_mexculture.core import safe_io
    with safe_io.replacing(path) as tmp, Path(tmp).open("w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")  # as every CSV of a run
        writer.writerow(["image", "reason"])
        writer.writerows(errors)
