"""The measurements a GPU session owes, in one command (Keras on JAX; no TensorFlow needed):

  1. `bench.py` on the demo model and ResNet50 (random weights): each method's and metric's cost
     against the forward-pass limit on the GPU (-> bench_jax_gpu.md);
  2. the lab report's run end to end: 10 images x the 4 methods with the default counts (RISE 4000
     masks, LIME 1000 samples, curves at step 224, MuFidelity 200) on ResNet50, serial and
     pipelined, against the model time at the limit, with each method's first-image seconds (the XLA
     compilations) (-> e2e_resnet50.md; the target is under 15 s of wall time and within 1.1 x the
     model time).

    python benchmarks/gpu_check.py --out DIR            # both, as a GPU session runs it
    python benchmarks/gpu_check.py --out DIR --quick    # tiny settings on the demo model (a dry run)
    python benchmarks/gpu_check.py --out DIR --only e2e # one part (bench or e2e) per call
    python benchmarks/gpu_check.py --out DIR --only e2e --repeat 3  # each end-to-end row the median of 3
    python benchmarks/gpu_check.py --out DIR --only e2e --synthetic 16  # 48 images drawn like the demo's

On a machine without TensorFlow or Keras, the missing packages travel as wheels (keras, namex,
optree and lime at the versions of requirements.txt; lime built with `pip wheel lime==0.2.0.1
--no-deps`), installed with `pip install --no-index --no-deps --target /tmp/site .whl/*.whl` and
PYTHONPATH=/tmp/site before this script runs. ResNet50 is saved to a temporary folder (95 MB), not
to --out.
"""
import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TINY = ["--rise_masks", "64", "--lime_samples", "32", "--step", "4096"]  # main.py's settings of a --quick dry run


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", required=True, help="folder for the tables (created)")
    p.add_argument("--quick", action="store_true", help="the demo model with tiny settings (a dry run)")
    p.add_argument("--n_images", type=int, default=None,
                   help="images of the end-to-end run (default: the lab report's 10; every one with --synthetic)")
    p.add_argument("--only", choices=["bench", "e2e"], default=None,
                   help="one of the two parts (to split them over two calls of a time-limited machine)")
    p.add_argument("--synthetic", type=int, default=None, metavar="N_PER_CLASS",
                   help="the end-to-end runs on N_PER_CLASS x 3 images drawn like the demo's (bench_runs.py --synthetic)")
    p.add_argument("--repeat", type=int, default=1, help="rounds of the end-to-end runs (each row: the median run)")
    p.add_argument("--profile", action="store_true",
                   help="the end-to-end runs' main processes profiled (cProfile; profile-RUN.txt in --out)")
    p.add_argument("--main_args", nargs=argparse.REMAINDER, default=[],
                   help="the rest of the line goes to main.py in the end-to-end runs (e.g. --compile_cache none)")
    args = p.parse_args(argv)
    os.environ["KERAS_BACKEND"] = "jax"
    os.environ.setdefault("MPLBACKEND", "Agg")
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from xai_mexculture.core import backend
    backend.select_backend("jax")
    import bench
    import bench_runs
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    if args.only != "e2e":
        bench.main(["--backend", "jax", "--no_reference", "--output", str(out / "bench_jax_gpu.md")]
                   + (["--models", "demo", "--quick", "--methods", "GRADCAM", "RISE", "--min_seconds", "0"] if args.quick else
                      ["--models", "demo", "resnet50"]))
        print(f"[gpu_check] bench.py done after {time.perf_counter() - start:.0f} s", flush=True)
    if args.only == "bench":
        return out
    e2e = ["--end_to_end", "--backend", "jax"] + (["--synthetic", str(args.synthetic)] if args.synthetic else [])
    n_images = 1 if args.quick else args.n_images if args.n_images or args.synthetic else 10
    e2e += (["--n_images", str(n_images)] if n_images else []) + \
        ["--output", str(out / ("e2e_demo_quick.md" if args.quick else "e2e_resnet50.md"))]
    e2e += ["--profile", str(out)] if args.profile else []
    e2e += ["--repeat", str(args.repeat)]
    extra = (["--extra"] + args.main_args) if args.main_args else []
    if args.quick:  # a dry run: fewer evaluations than bench_runs.py --quick, a short limit measure
        extra = ["--extra"] + TINY + args.main_args
        bench_runs.main(e2e + ["--quick", "--limit_images", "128"] + extra)
    else:
        from xai_mexculture.cli import train
        model_path = Path(tempfile.mkdtemp(prefix="gpu-check-")) / "resnet50_random.keras"
        train.save_model(bench.resnet50_random(), model_path)
        bench_runs.main(e2e + ["--model", str(model_path)] + extra)
    print(f"[gpu_check] all done after {time.perf_counter() - start:.0f} s", flush=True)
    return out


if __name__ == "__main__":
    main()
