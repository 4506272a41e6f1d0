"""Benchmark of whole runs.

Plain against Ray: the plain run against the same run on Ray actors, on the same machine (same
cores, so the point is the Ray runner's overhead, not a speed-up), each in a fresh process:

    python benchmarks/bench_runs.py                       # 12 demo images, ALL methods, 2 Ray workers
    python benchmarks/bench_runs.py --n_images 4 --quick  # seconds (fewer masks and samples)

It reports wall time and images/s of each; the Ray run's time includes starting Ray and its actors
(each loads the model once), which the "first image" column shows apart.

End to end (`--end_to_end`): the default run (figures included) against the speed of the model, all
measured in this one process, the run serially (`--host_workers 0`) and pipelined (`--host_workers`
= the cores) after a small warm-up run. Per run: its wall time (and that of its image loop, without
loading the model and the final tables); its model evaluations (per image: the prediction, each
method's evaluations, 2 x (n + 1) per map for the curves, MuFidelity's samples + 1, ROAD's and
Max-Sensitivity's when on; a gradient or CAM method counts as one evaluation) and their model time
two ways, both through bench.py's batch-64 compiled forward call: at the forward-pass limit (512
images, the best of 5, measured before the first run and after each; each run against the faster
of the two measures around it, and a line against the fastest of all), and replayed (the run's
evaluations through that call back to back, right after each run; each run against the faster of
the replays just before and after it): this machine's speed drifts by 10-25% within minutes, and
the replay takes as long as the run's model work, where the short measure samples a second or two;
the host work in CPU-seconds (host_clock.CLOCK: the main thread's host sections and the CPU time of
every task of the host processes); the core-seconds the machine's cores idled during the run
(/proc/stat, of all its cores x the wall time); and, with the replayed model time, the ratios
wall / (model + host / cores) (target 1.15: nothing idles) and wall / model (target 1.45 on the
demo); a line gives them at the limit too.
With two images or more it also prints each method's seconds on the serial run's first image against
the median of the others: the first image pays the XLA compilation of each compiled call.

    python benchmarks/bench_runs.py --end_to_end                 # 12 demo images, default settings
    python benchmarks/bench_runs.py --end_to_end --n_images 2 --quick
    python benchmarks/bench_runs.py --end_to_end --repeat 3      # median of 3 rounds (a noisy machine)
    python benchmarks/bench_runs.py --end_to_end --profile DIR   # + each run's main process profiled
    python benchmarks/bench_runs.py --end_to_end --synthetic 16  # 48 images drawn like the demo's

A line gives the pipelined run's pace from the second image on (the first pays the compilations)
against its model time per image (replayed), and its fixed part: the wall time less the images at
that pace (the model's load, the first use of each compiled call, the last image's host work, the
tables and plots), which a run of more images spreads thinner; `--synthetic N` runs on N images per
class drawn by make_demo.py (with their gaze data) to see that.

`--profile DIR` writes DIR/profile-RUN.txt per run: the run's marks (seconds after main.main was
called: model loaded, explainers built, each image's model stage done, images done, tables, plots)
and cProfile's top functions. On Python 3.12 cProfile sees every thread, so the host pool's
threads' waits show there too: read the marks for wall time.
"""
import argparse
import contextlib
import io
import logging
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
import typing
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
QUICK = ["--rise_masks", "500", "--lime_samples", "200"]
LIMIT_IMAGES = 512  # bench.LIMIT_IMAGES (bench.py is imported once the backend is chosen)


def run(args, extra):
    """(wall seconds, seconds to the first finished image) of one main.py run in a fresh process."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out"
        cmd = [sys.executable, "main.py", "--n_images", str(args.n_images), "--output_dir", str(out),
               "--display_type", "none", "--no_progress"] + (QUICK if args.quick else []) + extra
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        first = None
        while proc.poll() is None:
            results = out / "results.csv"
            if first is None and results.exists() and len(results.read_text().splitlines()) > 1:
                first = time.perf_counter() - start
            time.sleep(0.05)
        wall = time.perf_counter() - start
        if proc.returncode not in (0, 3):
            raise SystemExit(f"{' '.join(cmd)} failed: {proc.stderr.read()[-2000:]}")
    return wall, first


def plain_and_ray(args):
    rows = ["| run | images | wall (s) | first image (s) | images/s | vs plain |", "|---|---|---|---|---|---|"]
    plain = run(args, [])
    for name, extra in (("plain", []), (f"Ray, {args.workers} workers", ["--ray", "--workers", str(args.workers)])):
        wall, first = plain if name == "plain" else run(args, extra)
        rows.append(f"| {name} | {args.n_images} | {wall:.1f} | {'' if first is None else f'{first:.1f}'} | "
                    f"{args.n_images / wall:.3f} | {wall / plain[0]:.2f} |")
    return "\n".join(rows) + "\n"


# --------------------------------------------------------------------------- end to end
def evaluations(model, out_dir) -> int:
    """Model evaluations of the images a run did (results.csv and manifest.json of out_dir)."""
    from xai_mexculture.metrics import causal
    from xai_mexculture.metrics import mufidelity
    from xai_mexculture import explainers
    from xai_mexculture.results import tables
    from xai_mexculture.metrics import road
    params = tables.read_manifest(out_dir)["parameters"]
    rows = tables.read_rows(Path(out_dir) / "results.csv")
    images = list(dict.fromkeys(r["image"] for r in rows))
    shape = tuple(model.inputs[0].shape[1:3])
    n1 = causal.n_steps(shape, params["step"]) + 1
    per_method = {}
    for method in dict.fromkeys(r["method"] for r in rows):
        if method not in explainers.names():  # a reference row: no explanation
            continue
        explainer = explainers.build(method, model, batch_size=params["batch_size"], options=params)
        per_method[method] = explainer.evaluations_per_image() or 1
    total = len(images)  # the prediction of each image
    for r in rows:
        total += per_method.get(r["method"], 0)
        if r["Insertion"] == r["Insertion"]:  # not NaN: the row has its curves
            total += 2 * n1
        if r.get("ROAD_MoRF", float("nan")) == r.get("ROAD_MoRF", float("nan")):
            total += len(road.ORDERS) * len(road.PERCENTAGES)
        if r.get("MaxSensitivity", float("nan")) == r.get("MaxSensitivity", float("nan")):
            total += 10 * per_method.get(r["method"], 0)
    done_mufidelity = {r["image"] for r in rows if r["MuFidelity"] == r["MuFidelity"]}
    total += len(done_mufidelity) * (len(mufidelity.mufidelity_patterns()) + 1)
    return total


def first_image_overhead(rows) -> dict:
    """{method: (seconds on the run's first image, median seconds on the others)} from result rows
    (the `seconds` column; reference rows have none): the first image pays each compiled call's
    XLA compilation. Only methods with at least two images."""
    import statistics
    per_method = {}
    for r in rows:
        value = r.get("seconds")
        seconds = float(value) if value not in ("", None) else math.nan  # read_rows: NaN for none
        if not math.isnan(seconds):
            per_method.setdefault(r["method"], []).append(seconds)
    return {m: (t[0], statistics.median(t[1:])) for m, t in per_method.items() if len(t) > 1}


def idle_core_seconds():
    """Core-seconds this machine's cores have spent idle (or waiting for I/O) since boot, from
    /proc/stat (Linux); None elsewhere."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()
    except OSError:
        return None
    if fields[0] != "cpu" or len(fields) < 6:
        return None
    return (int(fields[4]) + int(fields[5])) / os.sysconf("SC_CLK_TCK")


def replay(model, evals, batch_size, jit, forward=None) -> float:
    """Seconds that `evals` images take through the compiled forward call of bench.py's limit (one
    fixed batch of batch_size, back to back, each result read as a run reads them), after one call:
    a run's model work done alone, at the speed the machine has just then (the short limit measure
    samples a second or two of a machine whose speed drifts). forward: bench.forward_call's (call,
    batch), else a new one."""
    from xai_mexculture.core import backend
    import bench
    call, batch = forward or bench.forward_call(model, batch_size, jit)
    backend.to_numpy(call(batch))
    n_calls = max(1, round(evals / batch_size))
    start = time.perf_counter()
    for _ in range(n_calls):
        backend.to_numpy(call(batch))
    return (time.perf_counter() - start) * evals / (n_calls * batch_size)


class Run(typing.NamedTuple):
    out: Path
    wall: float
    loop: float
    children: float  # CPU-s of the host processes (rusage)
    clock: object  # host_clock.CLOCK's copy
    limit: float  # images/s: the faster of the measures just before and after the run
    idle: object  # core-seconds the machine's cores idled during the run (None: unknown)
    evals: int = 0  # the run's model evaluations (`evaluations`)
    replay: float = math.nan  # img/s: the faster of the replays just before and after the run


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def one_run(argv, profile=None):
    """Run main.main(argv) in this process: (exit status, wall s, image loop s, CPU-s of the host
    processes by rusage, a copy of host_clock.CLOCK). profile: a text file for the main process's
    cProfile (the functions by cumulative and by own time) and the run's marks."""
    import copy
    from xai_mexculture.cli import main
    from xai_mexculture.run import host_clock
    import cProfile
    children = _children_cpu()
    profiler = cProfile.Profile() if profile is not None else contextlib.nullcontext()
    start = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()), profiler:
        status = main.main(argv)
    wall = time.perf_counter() - start
    if profile is not None:
        write_profile(profiler, host_clock.CLOCK, start, wall, profile)
    clock = copy.deepcopy(host_clock.CLOCK)
    clock.marks = {name: at - start for name, at in clock.marks.items()}  # s after main.main was called
    loop = clock.marks.get("images_done", 0) - clock.marks.get("images", 0)
    return status, wall, loop, _children_cpu() - children, clock


def write_profile(profiler, clock, start, wall, path, top=45):
    """The run's marks (s after main.main was called) and its top functions, as text."""
    import pstats
    text = io.StringIO()
    text.write(f"wall {wall:.2f} s; marks: " + ", ".join(f"{k} {v - start:.2f}" for k, v in clock.marks.items()) + "\n")
    for key in ("cumulative", "tottime"):
        pstats.Stats(profiler, stream=text).sort_stats(key).print_stats(top)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(text.getvalue())


def warm_up(out, model=None, data=()):
    """A small run before the measured ones (one image, 64 masks, 32 LIME samples, figures and plots
    drawn), in this process: the one-time costs of the process (imports, the first traces, the
    figures' fonts) are not any measured run's."""
    from xai_mexculture.core import backend
    one_run(["--n_images", "1", "--output_dir", str(out), "--no_progress", "--rise_masks", "64",
             "--lime_samples", "32", "--backend", backend.name()] + (["--model_path", model] if model else []) + list(data))


def end_to_end(args) -> dict:
    """The measures of the end-to-end benchmark as data (`end_to_end_table` writes them): the
    settings, every limit measure and replay in the order taken, every run per configuration, and per
    configuration a row (dict) of its median run with the numbers of the table, unrounded."""
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "benchmarks"))
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("MPLBACKEND", "Agg")
    from xai_mexculture.core import backend
    backend.select_backend(args.backend)
    import bench
    from xai_mexculture.run import host_clock
    from xai_mexculture.results import tables
    logging.basicConfig(level=logging.WARNING)
    # each run in this process builds its own compiled calls of the same bodies, which TensorFlow
    # reports as retracing ("5 out of the last 7 calls ... triggered tf.function retracing"): it is
    # each run's first trace, as in a run of its own
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    model = bench.load("demo") if args.model is None else bench.load(args.model)
    jit = args.jit == "on"
    cores, cores_total = host_clock.cores(), os.cpu_count() or 1
    workers = cores if args.host_workers is None else args.host_workers
    tmp = Path(tempfile.mkdtemp(prefix="bench-runs-"))
    data = synthetic_data(tmp / "synthetic", args.synthetic) if args.synthetic else []
    if args.n_images is None:  # every image drawn
        args.n_images = len(list((tmp / "synthetic" / "images_test").iterdir()))
    base = ["--n_images", str(args.n_images), "--no_progress", "--batch_size", str(args.batch_size), "--jit", args.jit,
            "--backend", backend.name()] + (["--model_path", args.model] if args.model else []) + \
        data + (QUICK if args.quick else []) + args.extra
    warm_up(tmp / "warm-up", args.model, data)
    limit_images, limit_repeat = args.limit_images, bench.LIMIT_REPEAT
    forward = bench.forward_call(model, args.batch_size, jit)  # compiled once for every limit measure and replay

    def limit():
        return bench.forward_limit(model, args.batch_size, jit, n_images=limit_images, repeat=limit_repeat,
                                   forward=forward)[1]
    limits = [limit()]
    replays = []  # img/s of the replay after each run
    runs = {}
    configs = (("serial (--host_workers 0)", ["--host_workers", "0"]),
               (f"pipelined (--host_workers {workers})", ["--host_workers", str(workers)]))
    for k in range(args.repeat):  # alternated, so that both see the machine's good and bad moments
        for name, flags in configs:
            out = tmp / f"{name.split()[0]}{'' if args.repeat == 1 else f'-{k + 1}'}"
            profile = None if args.profile is None else Path(args.profile) / f"profile-{out.name}.txt"
            idle = idle_core_seconds()
            status, wall, loop, children, clock = one_run(base + ["--output_dir", str(out)] + flags, profile)
            idle = None if idle is None else idle_core_seconds() - idle
            if status not in (0, 3):
                raise SystemExit(f"the {name} run failed with status {status} (see {out})")
            limits.append(limit())
            evals = evaluations(model, out)
            replays.append(evals / replay(model, evals, args.batch_size, jit, forward))
            # the machine's speed drifts: each run against the faster of the measures just before and after it
            runs.setdefault(name, []).append(Run(out, wall, loop, children, clock, max(limits[-2:]), idle,
                                                 evals, max(replays[-2:])))
    measured = {name: median_run(r) for name, r in runs.items()}
    fastest = max(limits)
    rows = {}
    for name, run in measured.items():
        model_s, replayed, host = run.evals / run.limit, run.evals / run.replay, run.clock.total()
        results = tables.read_rows(run.out / "results.csv")
        n_images = len({r["image"] for r in results})
        rows[name] = dict(
            run=run, images=n_images, evals=run.evals, limit=run.limit, model_s=model_s, replayed=replayed,
            host=host, pool_cpu=run.clock.pool_cpu, children=run.children, wall=run.wall, loop=run.loop,
            idle=run.idle, idle_of=run.wall * cores_total,
            ratio=wall_ratio(run.wall, replayed, host / cores), per_model=run.wall / replayed,
            loop_per_model=run.loop / replayed,
            at_limit=(wall_ratio(run.wall, model_s, host / cores), run.wall / model_s),
            against_fastest=(wall_ratio(run.wall, run.evals / fastest, host / cores), run.wall * fastest / run.evals),
            steady=steady_state(run, n_images), first=first_image_overhead(results),
            cpu=run.clock.cpu.most_common(), marks=dict(run.clock.marks))
    return dict(device=bench.device_line(args), backend=backend.name(), cores=cores, cores_total=cores_total,
                batch_size=args.batch_size, limit_images=limit_images, limit_repeat=limit_repeat, repeat=args.repeat,
                synthetic=args.synthetic, data=data, base=base, tmp=tmp, limits=limits, replays=replays,
                fastest=fastest, runs=runs, rows=rows)


def median_run(runs):
    """The run of median wall time (the lower middle one of an even count): a configuration's row."""
    return sorted(runs, key=lambda run: run.wall)[(len(runs) - 1) // 2]


def wall_ratio(wall, model_s, host_per_core) -> float:
    """wall / (model + host / cores): 1 when the model never waits for the host (the target 1.15)."""
    return wall / (model_s + host_per_core)


def end_to_end_table(res) -> str:
    """The Markdown table and lines of `end_to_end`'s measures."""
    limits, replays, rows, fastest = res["limits"], res["replays"], res["rows"], res["fastest"]
    walls = "; ".join(f"{name.split()[0]} " + ", ".join(f"{r.wall:.1f}" for r in rs) for name, rs in res["runs"].items())
    lines = [f"{res['device']}; {res['cores']} cores for the host; forward-pass limit (batch {res['batch_size']}, "
             f"{res['limit_images']} images, the best of {res['limit_repeat']}) measured {len(limits)} times, "
             "before the first run and after each: " + ", ".join(f"{x:.0f}" for x in limits) + " img/s; each run's evaluations replayed after it "
             "through the same call: " + ", ".join(f"{x:.0f}" for x in replays) + " img/s",
             "",
             "| run | images | evaluations | limit around the run (img/s) | model at the limit (s) | "
             "model replayed (s) | host CPU-s (in host processes; processes) | wall (s) | image loop (s) | idle core-s | "
             "wall / (model + host / cores) | wall / model | loop / model |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for name, r in rows.items():
        idle = "" if r["idle"] is None else f"{r['idle']:.1f} of {r['idle_of']:.0f}"
        lines.append(f"| {name} | {r['images']} | {r['evals']:,} | {r['limit']:.0f} | {r['model_s']:.1f} | "
                     f"{r['replayed']:.1f} | {r['host']:.1f} ({r['pool_cpu']:.1f}; processes {r['children']:.1f}) | "
                     f"{r['wall']:.1f} | {r['loop']:.1f} | "
                     f"{idle} | {r['ratio']:.2f} | {r['per_model']:.2f} | {r['loop_per_model']:.2f} |")
    at_limit = "; ".join(f"{name.split()[0]} {r['at_limit'][0]:.2f} / {r['at_limit'][1]:.2f}" for name, r in rows.items())
    against = "; ".join(f"{name.split()[0]} {r['against_fastest'][0]:.2f} / {r['against_fastest'][1]:.2f}"
                        for name, r in rows.items())
    lines += ["", "Host work by kind (CPU-s): " + "; ".join(
        f"{name.split()[0]}: " + ", ".join(f"{k} {v:.1f}" for k, v in r["cpu"]) for name, r in rows.items()),
        "Host CPU-s: the host work the run counts (its tasks in the host processes in brackets, then the host "
        "processes' whole CPU time, their start and imports included, after 'processes').",
        "The ratios' model time is the replay: the run's evaluations through the batch-64 compiled call back to "
        "back, just before and after the run (the faster of the two; the first run has only the one after it). "
        "At the limit around the run instead, wall / (model + host / cores) and wall / model: " + at_limit
        + f"; against the fastest of the {len(limits)} limit measures ({fastest:.0f} img/s): " + against + ".",
        _first_line({name: r["run"] for name, r in rows.items()}),
        _steady_line({name: r["run"] for name, r in rows.items()}),
        "Marks (s after main.main was called): " + "; ".join(
            f"{name.split()[0]}: " + ", ".join(f"{k} {v:.2f}" for k, v in r["marks"].items())
            for name, r in rows.items()),
        (f"Each row: the run of median wall time of {res['repeat']} (walls in s: {walls})." if res["repeat"] > 1 else None),
        f"Targets on the demo model: wall / (model + host / cores) <= 1.15, wall / model <= 1.45 (for the default "
        f"run of 12 images or more without --quick: a shorter run is mostly its fixed part). "
        f"Settings: {' '.join(a for a in res['base'][2:] if a not in res['data']) or 'the defaults'}"
        + (f"; synthetic data, {res['synthetic']} per class drawn like the demo's ({res['tmp'] / 'synthetic'})"
           if res["data"] else "")
        + f"; outputs in {res['tmp']}"]
    return "\n".join(line for line in lines if line is not None) + "\n"


def synthetic_data(folder, n_per_class) -> list:
    """main.py's flags for a larger data set in the demo's form: n_per_class images per class drawn
    by make_demo.py (the demo's seed: the first 4 of each class are the bundled ones), with their
    fixations, scanpaths and GFDMs, written to `folder`."""
    import constants
    from xai_mexculture.cli import make_demo
    make_demo.generate_split(folder, "test", n_per_class)
    return ["--test_images_folder_path", str(folder / "images_test"),
            "--test_gdfm_folder_path", str(folder / "gazefixationsdensitymaps"),
            "--fixations_folder_path", str(folder / "fixations"), "--scanpaths_folder_path", str(folder / "scanpaths"),
            "--gfdm_sigma", str(constants.GFDM_SIGMA_DEMO)]


def steady_state(run, n_images):
    """(seconds per image from the end of the first model stage to the end of the last, the model
    time per image replayed, the fixed part: wall - n_images x the former) of a pipelined run, or
    None (a serial run has no per-image marks; one image has no second)."""
    stages = sorted(at for name, at in run.clock.marks.items() if name.startswith("model stage "))
    if n_images < 2 or len(stages) != n_images:
        return None
    per_image = (stages[-1] - stages[0]) / (n_images - 1)
    return per_image, run.evals / n_images / run.replay, run.wall - n_images * per_image


def _steady_line(measured):
    """The pipelined runs from the second image on (the first pays the compilations) against the
    model time replayed, and what the run costs besides (None when no run has two images)."""
    from xai_mexculture.results import tables
    parts = []
    for name, run in measured.items():
        steady = steady_state(run, len({r["image"] for r in tables.read_rows(run.out / "results.csv")}))
        if steady:
            per_image, model_per_image, fixed = steady
            parts.append(f"{name.split()[0]}: {per_image:.2f} s per image against {model_per_image:.2f} s of model "
                         f"work ({per_image / model_per_image:.2f} x); fixed part {fixed:.1f} s of {run.wall:.1f}")
    if not parts:
        return None
    return ("From the second image on (end of the first model stage to the end of the last; the cores shared with "
            "the host processes): " + "; ".join(parts) + ". The fixed part (wall less the images at that pace) is the "
            "model's load, the first use of each compiled call, the last image's host work, the tables and plots.")


def _first_line(measured):
    """Each run's first image against its others, per method (None with one image)."""
    from xai_mexculture.results import tables
    parts = []
    for name, (out, *_) in measured.items():
        first = first_image_overhead(tables.read_rows(out / "results.csv"))
        if first:
            parts.append(f"{name.split()[0]}: " + ", ".join(f"{m} {a:.2f} ({b:.2f})" for m, (a, b) in first.items()))
    if not parts:
        return None
    return ("Seconds per method on the first image (XLA compiles each call on first use) against the median of "
            "the others: " + "; ".join(parts))


def parse_args(argv=None):
    """The command line's settings, checked (a usage error exits)."""
    p = argparse.ArgumentParser(description="Benchmark of whole runs: the plain run against the same run on Ray "
                                            "actors (default), or with --end_to_end the default run serially and "
                                            "pipelined against the model's speed. See the module's docstring.")
    p.add_argument("--n_images", type=int, default=None, help="default: 12 (the demo), every image with --synthetic")
    p.add_argument("--synthetic", type=int, default=None, metavar="N_PER_CLASS",
                   help="with --end_to_end: a larger data set drawn by make_demo.py, N_PER_CLASS images per class "
                        "(gaze included) in the benchmark's temporary folder")
    p.add_argument("--workers", type=int, default=2, help="Ray actors (plain against Ray)")
    p.add_argument("--quick", action="store_true", help="fewer RISE masks and LIME samples (500, 200)")
    p.add_argument("--end_to_end", action="store_true",
                   help="the default run serial and pipelined against the model's speed, in this process")
    p.add_argument("--host_workers", type=int, default=None, help="with --end_to_end: default the cores")
    p.add_argument("--repeat", type=int, default=1,
                   help="with --end_to_end: rounds of both runs (alternated); each row is the median run")
    p.add_argument("--model", default=None, help="with --end_to_end: a .keras model (default: the demo model)")
    p.add_argument("--backend", default=None, choices=("tensorflow", "jax"),
                   help="the Keras backend of the runs (default: $KERAS_BACKEND, else tensorflow)")
    p.add_argument("--batch_size", type=int, default=64, help="main.py's --batch_size (images per compiled call)")
    p.add_argument("--jit", default="on", choices=["on", "off"], help="main.py's --jit (XLA / jax.jit)")
    p.add_argument("--extra", nargs=argparse.REMAINDER, default=[],
                   help="with --end_to_end: more flags for main.py (last on the line)")
    p.add_argument("--output", default=None, help="also write the Markdown table here")
    p.add_argument("--profile", default=None,
                   help="with --end_to_end: a folder for each run's cProfile of the main process (profile-RUN.txt)")
    p.add_argument("--limit_images", type=int, default=LIMIT_IMAGES,
                   help="with --end_to_end: images per forward-pass limit measure (bench.py's 512; fewer: a "
                        "quicker, noisier measure)")
    args = p.parse_args(argv)
    if args.synthetic is not None and not args.end_to_end:
        p.error("--synthetic is for --end_to_end runs")
    if args.synthetic is not None and args.synthetic < 1:
        p.error(f"--synthetic {args.synthetic}: at least 1 image per class")
    if args.n_images is None and not args.synthetic:
        args.n_images = 12
    if args.repeat < 1:
        p.error(f"--repeat {args.repeat}: at least one round")
    if args.host_workers is not None and args.host_workers < 1:
        p.error(f"--host_workers {args.host_workers}: the pipelined run needs at least 1 host process "
                f"(the serial run, --host_workers 0, is always measured)")
    return args


def main(argv=None):
    """Prints the table (and writes it to --output) and returns it; `end_to_end` gives the numbers."""
    args = parse_args(argv)
    table = end_to_end_table(end_to_end(args)) if args.end_to_end else plain_and_ray(args)
    print(table)
    if args.output:
        Path(args.output).write_text(table)
    return table


if __name__ == "__main__":
    main()
