"""Benchmark: what each registered explainer and metric costs against the forward-pass limit, on
the Keras backend of your choice.

The work of an explanation is model evaluations: RISE needs n_masks forward passes, LIME
num_samples, insertion/deletion n + 1 each. The limit is the time those passes take through the
compiled batched model call; this script measures, in one run and per model:
  - the limit (images/s at --batch_size), and the forward time of a batch of 12 images;
  - per registered method: perturbation methods on one image, as a ratio to the forward time of the
    same number of evaluations in the same batches (measured just before the method); gradient/activation methods (Grad-CAM, FEM, ...) on a batch of 12 images,
    as a ratio to the forward time of those 12 images;
  - LIME's model part (the segmentation done beforehand);
  - insertion, deletion, and all maps of one image together, the same ratio;
  - peak memory (RSS) of RISE at 4000 and 8000 masks, in fresh processes;
  - the `lime` package used the plain way (batch_size=10, model.predict) and model.predict-based
    RISE scoring, side by side with this project's versions.
Every time is the best of a few runs after a warm-up run. It prints a Markdown table and writes it
to --output.

    python benchmarks/bench.py                                 # TensorFlow; demo model and ResNet50
    python benchmarks/bench.py --backend jax --models demo     # JAX
    python benchmarks/bench.py --models demo --quick           # tiny settings (the smoke test)
"""
import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TQDM_DISABLE", "1")  # the plain lime package's per-sample bar

import numpy as np  # noqa: E402

from xai_mexculture.core import backend
import constants  # noqa: E402
from xai_mexculture.core import data

N_CAM_IMAGES = 12


MIN_SECONDS = 1.0  # timed's default: more tries while they add up to less (bench.py --min_seconds)


def timed(fn, repeat=3, min_seconds=None, max_repeat=50):
    """Best wall time of fn() over at least `repeat` runs (after one warm-up run), more while they
    add up to less than min_seconds (default MIN_SECONDS; at most max_repeat), and its last result. The best run is the
    least disturbed by the rest of the machine, for the limit and the methods alike; a call of a few
    milliseconds gets many tries, as one disturbed try would otherwise be all there is."""
    min_seconds = MIN_SECONDS if min_seconds is None else min_seconds
    fn()
    times, out = [], None
    while len(times) < repeat or (sum(times) < min_seconds and len(times) < max_repeat):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return min(times), out


LIMIT_IMAGES, LIMIT_REPEAT = 512, 5  # forward_limit's measure


def forward_call(model, batch_size, jit=True):
    """(call, batch): the model's compiled forward call and a fixed batch of batch_size images in
    memory, what forward_limit (and bench_runs.replay) time."""
    from xai_mexculture.core import model_io
    shape = tuple(model.inputs[0].shape[1:3])
    batch = backend.to_tensor(np.random.default_rng(0).uniform(0, 255, (batch_size,) + shape + (3,)))
    return model_io.forward(model, jit), batch


def forward_limit(model, batch_size, jit=True, n_images=LIMIT_IMAGES, repeat=LIMIT_REPEAT, forward=None):
    """(seconds, images/s) of the compiled forward call on n_images in batches of batch_size already
    in memory: the limit every model evaluation is compared with (best of `repeat` after a warm-up).
    forward: forward_call's (call, batch) to time again (its compilation paid once), else a new one."""
    call, batch = forward or forward_call(model, batch_size, jit)
    n_calls = max(1, n_images // batch_size)
    t, _ = timed(lambda: [backend.to_numpy(call(batch)) for _ in range(n_calls)], repeat=repeat)
    return t, n_calls * batch_size / t


def resnet50_random(input_size=constants.INPUT_SIZE):
    import keras
    from xai_mexculture.cli import train
    keras.utils.set_random_seed(0)
    return train.build_model(3, "resnet50", "none", input_size, nested=True)


def load(name):
    from xai_mexculture.core import model_io
    if name == "demo":
        return model_io.load_model(constants.DEMO_MODEL)
    if name == "resnet50":
        return resnet50_random()
    return model_io.load_model(name)


def settings(name, args):
    """Per-model sizes: full defaults on the demo model, smaller counts on ResNet50 (ratios hold).
    --quick: OCCLUSION's window and stride 32 (7 x 7 windows + 1 on 224 x 224; its quick_params,
    made for the tests' 32 x 32 images, slide 55 x 55 windows there, 3026 evaluations)."""
    if args.quick:
        return dict(masks=64, lime=32, step=4096, limit_n=2 * args.batch_size, mufidelity=32, road=(50,),
                    window=32, stride=32)
    if name == "resnet50":
        return dict(masks=args.resnet_masks, lime=args.resnet_lime, step=args.resnet_step,
                    limit_n=2 * args.batch_size, mufidelity=64, road=constants.ROAD_PERCENTAGES)
    return dict(masks=args.rise_masks, lime=args.lime_samples, step=args.step, limit_n=8 * args.batch_size,
                mufidelity=200, road=constants.ROAD_PERCENTAGES)


def rise_peak_rss(model_arg, n_masks, batch_size):
    """Peak RSS (MB) of a fresh process that loads the model and runs RISE with n_masks, and its
    RSS before RISE (after loading and one batched call)."""
    code = f"""
import os, resource, sys
sys.path.insert(0, {str(ROOT)!r}); sys.path.insert(0, {str(ROOT / 'benchmarks')!r})
import numpy as np, bench
from xai_mexculture.explainers.rise import RISEExplainer

def peak_mb():
    # VmHWM is the process's own high-water mark (ru_maxrss keeps the parent's from before exec)
    try:
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
m = bench.load({model_arg!r})
img = np.random.default_rng(0).uniform(0, 255, (1,) + tuple(m.inputs[0].shape[1:])).astype(np.float32)
RISEExplainer(m, n_masks={batch_size}, batch_size={batch_size}).explain(img, [0])
before = peak_mb()
RISEExplainer(m, n_masks={n_masks}, batch_size={batch_size}).explain(img, [0])
print(before, peak_mb())
"""
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env=dict(os.environ, KERAS_BACKEND=backend.name()))
    before, peak = map(float, res.stdout.split()[-2:])
    return before, peak


def method_params(cls, cfg, quick=False):
    """The benchmark's evaluation counts for the methods that have them (the rest: defaults;
    --quick: the method's own small settings)."""
    wanted = {"n_masks": cfg["masks"], "num_samples": cfg["lime"],
              **{k: cfg[k] for k in ("window", "stride") if k in cfg}}  # OCCLUSION's, with --quick
    params = dict(cls.quick_params) if quick else {}
    params.update({p.name: wanted[p.name] for p in cls.params if p.name in wanted})
    return params


def bench_model(name, args, rows):
    from xai_mexculture.metrics import causal
    from xai_mexculture import explainers
    from xai_mexculture.core import image_io
    from xai_mexculture.core import model_io
    from xai_mexculture.explainers.lime_method import segment

    model = load(name)
    cfg = settings(name, args)
    jit = args.jit == "on"
    shape = tuple(model.inputs[0].shape[1:3])
    paths = data.list_images(constants.DEMO_TEST_IMAGES)
    imgs = np.stack([image_io.load_image(p, shape) for p in paths[:N_CAM_IMAGES]])
    classes = np.array([data.class_index(p.name) for p in paths[:N_CAM_IMAGES]])
    img, cls = imgs[0], int(classes[0])
    bs = args.batch_size

    def add(measure, evals, seconds, ideal, target=""):
        rows.append((name, measure, evals, seconds, ideal, seconds / ideal if ideal else None, target))
        print(row_text(rows[-1]), flush=True)

    call = model_io.forward(model, jit)
    t, limit = forward_limit(model, bs, jit, cfg["limit_n"])
    twelve = backend.to_tensor(imgs)
    t12, _ = timed(lambda: backend.to_numpy(call(twelve)), repeat=5)
    rows.append((name, f"forward-pass limit (batch {bs})", cfg["limit_n"], t, None, None, f"{limit:.1f} img/s"))
    rows.append((name, f"forward pass of {len(imgs)} images (one batch)", len(imgs), t12, None, None,
                 f"{model.count_params():,} parameters, jit {'on' if jit else 'off'}"))
    print("\n".join(row_text(r) for r in rows[-2:]), flush=True)

    def ideal(evals):
        """Forward time of `evals` images in the batches a method uses (equal-size batches of at
        most batch_size, as backend.batches makes them), on a batch already in memory; measured
        just before the method it is compared with, so both see the same state of the machine."""
        sizes = [len(idx) for _, _, idx in backend.batches(evals, bs)]
        x = backend.to_tensor(np.random.default_rng(1).uniform(0, 255, (sizes[0],) + shape + (3,)))
        return timed(lambda: [backend.to_numpy(call(x)) for _ in sizes])[0]
    maps = {}
    for method in (explainers.parse_methods(",".join(args.methods)) if args.methods else explainers.names()):
        klass = explainers.get(method)
        explainer = klass(model, batch_size=bs, jit=jit, **method_params(klass, cfg, args.quick))
        evals = explainer.evaluations_per_image()
        if evals is None:
            t, out = timed(lambda: explainer.explain(imgs, classes), repeat=5)
            add(f"{method} on {len(imgs)} images (vs their forward pass)", len(imgs), t, t12, klass.bench_target)
        else:
            at_limit = ideal(evals)
            t, out = timed(lambda: explainer.explain(img[None], [cls]))
            add(f"{method} ({evals} evaluations)", evals, t, at_limit, klass.bench_target)
        maps[method] = out[0]
        if hasattr(explainer, "explanation"):  # LIME: the model part, segmentation done beforehand
            segments = segment(img, 0)
            at_limit = ideal(evals)
            t, _ = timed(lambda: explainer.explanation(img, cls, segments=segments))
            add(f"{method} model part ({evals} samples)", evals, t, at_limit, "<= 1.15")

    scorer = causal.CurveScorer(model, bs, jit)
    n1 = causal.n_steps(shape, cfg["step"]) + 1
    any_map = next(iter(maps.values()))
    for kind in ("insertion", "deletion"):
        at_limit = ideal(n1)
        t, _ = timed(lambda: causal.causal_curves(model, img, {"m": any_map}, cls, cfg["step"], (kind,),
                                                    scorer=scorer))
        add(f"{kind} (step {cfg['step']})", n1, t, at_limit, "<= 1.15")
    seed_maps = {m: maps[m] for m in maps if m in explainers.default_names()} or maps
    at_limit = ideal(2 * len(seed_maps) * n1)
    t, _ = timed(lambda: causal.causal_curves(model, img, seed_maps, cls, cfg["step"], scorer=scorer))
    add(f"insertion + deletion, {len(seed_maps)} maps together", 2 * len(seed_maps) * n1, t, at_limit, "<= 1.15")
    bench_metrics(model, img, cls, any_map, cfg, jit, bs, ideal, add)

    if not args.no_reference:
        from lime import lime_image
        from xai_mexculture.explainers.rise import RISE
        segments = segment(img, 0)
        predict = lambda b: model.predict(np.asarray(b, np.float32), verbose=0)  # noqa: E731
        t, _ = timed(lambda: lime_image.LimeImageExplainer(random_state=0).explain_instance(
            img.astype(np.float64), predict, labels=(cls,), top_labels=None, num_samples=cfg["lime"],
            segmentation_fn=lambda _: segments, random_seed=0))
        add("reference: lime package, plain (batch 10, model.predict)", cfg["lime"], t, cfg["lime"] / limit)
        rise = RISE(model, img, cls, n_masks=cfg["masks"], chunk_size=256)

        def predict_rise():
            total = 0
            for masks in rise.generate_masks():
                scores = model.predict(img[None] * masks[..., None], batch_size=32, verbose=0)[:, cls]
                total = total + np.tensordot(scores, masks, axes=1)
            return total
        t, _ = timed(predict_rise)
        add("reference: RISE scored with model.predict (batch 32)", cfg["masks"], t, cfg["masks"] / limit)

    if args.memory and (name == "demo" or args.memory_all):
        for n in ((64, 128) if args.quick else (4000, 8000)):
            before, peak = rise_peak_rss(name, n, bs)
            rows.append((name, f"RISE peak RSS, {n} masks", n, None, None, None,
                         f"{peak:.0f} MB (before RISE {before:.0f} MB); target < 1500 MB"))
            print(row_text(rows[-1]), flush=True)


def bench_metrics(model, img, cls, sal, cfg, jit, bs, ideal, add):
    """The other registered metrics on one map: MuFidelity against the limit for its evaluations;
    the host metrics (sAUC, Sparseness) in seconds; MaxSensitivity as the cost of its 10 explanations
    of a map (Grad-CAM's); ROAD per map and order (both orders run together, as the tool does; the
    time is their half: host sparse solves plus the scoring, whose limit is given for comparison)."""
    from xai_mexculture.metrics import mufidelity
    from xai_mexculture.metrics import properties
    from xai_mexculture.metrics import road
    from xai_mexculture.metrics import sauc
    from xai_mexculture import explainers
    from xai_mexculture import metrics
    n = cfg["mufidelity"]
    removed = mufidelity.mufidelity_patterns(n_samples=n, seed=0)
    scorer = mufidelity.mufidelity_scorer(model, bs, jit)
    at_limit = ideal(n + 1)
    t, _ = timed(lambda: mufidelity.mufidelity_from_drops(sal, removed, scorer.drops(img, cls, removed)))
    add(f"MuFidelity ({n} samples)", n + 1, t, at_limit, "<= 1.15")
    rng = np.random.default_rng(0)
    fixations, others = rng.uniform(0, 224, (15, 2)), rng.uniform(0, 224, (3000, 2))
    t, _ = timed(lambda: sauc.calculate_sauc(fixations, sal, others))
    add("sAUC (15 fixations, 3000 negatives)", 0, t, None, "host")
    t, _ = timed(lambda: properties.calculate_sparseness(sal))
    add("Sparseness", 0, t, None, "host")
    explainer = explainers.get("GRADCAM")(model, batch_size=bs, jit=jit)
    gradcam = explainer.explain(img[None], [cls], ["x"])[0]
    image = metrics.ImageData("x", img, cls, model=model, explainers={"GRADCAM": explainer})
    t, _ = timed(lambda: metrics.get("MaxSensitivity").compute(image, {"GRADCAM": gradcam}))
    add("MaxSensitivity of a GRADCAM map (10 explanations)", 10, t, None, "--robustness")
    levels = cfg["road"]
    t, _ = timed(lambda: road.road_curves(model, img, {"m": sal}, cls, percentages=levels, seed=0,
                                              batch_size=bs, jit=jit))
    add(f"ROAD per map and order ({len(levels)} levels)", len(levels), t / 2, ideal(2 * len(levels)) / 2,
        f"--road; sparse solves on the host ({road.default_workers()} threads)")


def _f(value, digits=3):
    return "" if value is None else f"{value:.{digits}f}"


def row_text(row):
    model, measure, evals, secs, ideal, ratio, note = row
    return f"| {model} | {measure} | {evals} | {_f(secs)} | {_f(ideal)} | {_f(ratio, 2)} | {note} |"


def device_line(args):
    import platform
    import keras
    be = backend.name()
    if be == "jax":
        import jax
        devices = jax.devices()
        version = f"JAX {jax.__version__}"
        device = ", ".join(sorted({getattr(d, "device_kind", d.platform) for d in devices}))
        accelerated = any(d.platform != "cpu" for d in devices)
    else:
        import tensorflow as tf
        gpus = tf.config.list_physical_devices("GPU")
        version, device, accelerated = f"TF {tf.__version__}", "GPU" if gpus else "CPU", bool(gpus)
    cpu = f"{os.cpu_count()} cores, {platform.processor() or platform.machine()}"
    return (f"Backend: {be} ({version}, Keras {keras.__version__}); device: {device}"
            f"{'' if accelerated else f' ({cpu})'}; batch size {args.batch_size}; jit {args.jit}")


def markdown(rows, args):
    lines = [device_line(args), "",
             "| model | measure | evaluations | seconds | at the limit (s) | ratio | target / note |",
             "|---|---|---|---|---|---|---|"]
    lines += [row_text(r) for r in rows]
    return "\n".join(lines) + "\n"


def main(argv=None):
    global MIN_SECONDS
    p = argparse.ArgumentParser(description="Benchmark the explainers and metrics against the forward-pass limit.")
    p.add_argument("--backend", default=None, choices=backend.BACKENDS,
                   help="Keras backend (default: KERAS_BACKEND if set, else tensorflow)")
    p.add_argument("--models", nargs="+", default=["demo", "resnet50"], help="demo, resnet50 or .keras paths")
    p.add_argument("--methods", nargs="+", default=None,
                   help="registered methods, ALL or EVERY (default: every registered method)")
    p.add_argument("--batch_size", type=int, default=constants.BATCH_SIZE)
    p.add_argument("--rise_masks", type=int, default=constants.RISE_N_MASKS)
    p.add_argument("--lime_samples", type=int, default=constants.LIME_NUM_SAMPLES)
    p.add_argument("--step", type=int, default=constants.STEP)
    p.add_argument("--resnet_masks", type=int, default=512)
    p.add_argument("--resnet_lime", type=int, default=128)
    p.add_argument("--resnet_step", type=int, default=224 * 8)
    p.add_argument("--no_reference", action="store_true", help="skip the plain lime / model.predict runs")
    p.add_argument("--memory", action="store_true",
                   help="measure RISE peak RSS at 4000 and 8000 masks (demo model; see --memory_all)")
    p.add_argument("--memory_all", action="store_true", help="with --memory: for every model (slow on ResNet50)")
    p.add_argument("--quick", action="store_true", help="tiny settings (smoke test)")
    p.add_argument("--jit", default=constants.JIT_COMPILE, choices=["on", "off"],
                   help="XLA (TensorFlow) / jax.jit (JAX) compilation of the model calls")
    p.add_argument("--min_seconds", type=float, default=MIN_SECONDS,
                   help="each time is the best of at least 3 runs, more while they add up to less than this "
                        "(at most 50); 0: just the 3 (a quicker, noisier check)")
    p.add_argument("--output", default=None, help="Markdown file (default: benchmarks/results_<backend>.md)")
    args = p.parse_args(argv)
    backend.select_backend(args.backend)
    rows = []
    MIN_SECONDS, default = args.min_seconds, MIN_SECONDS
    try:
        for name in args.models:
            bench_model(name, args, rows)
    finally:  # main called in a process that goes on (a test, gpu_check.py)
        MIN_SECONDS = default
    text = markdown(rows, args)
    output = Path(args.output or ROOT / "benchmarks" / f"results_{backend.name()}.md")
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text)
    print(text)
    return rows


if __name__ == "__main__":
    main()
