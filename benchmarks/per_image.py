"""Per-image time of one run of main.py on a random-weight ResNet50 at 224 x 224 (no download).

    python benchmarks/per_image.py --n_images 2 -- --explanation_method ALL --display_type none
    python benchmarks/per_image.py --n_images 2 -- --rise_masks 1000 --lime_samples 300 --step 1792

Runs main.main in this process (the rest of the line after `--` goes to main.py, with --n_images,
--no_progress and --output_dir added) and prints: the wall time; the marks of the run (model
loaded, explainers built, each image's model stage done, images done, tables, plots); each image's
model stage (the first pays the XLA compilation of every compiled call); each method's `seconds` per
image from results.csv; the run's model evaluations per image (bench_runs.evaluations). The model is
bench.resnet50_random() saved by train.save_model (95 MB) to --model when that file does not exist.
"""
import argparse
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default=str(Path(tempfile.gettempdir()) / "resnet50_random.keras"),
                   help="the .keras file (made when missing)")
    p.add_argument("--n_images", type=int, default=2)
    p.add_argument("--backend", default="tensorflow", choices=["tensorflow", "jax"])
    p.add_argument("--out", default=None, help="the run's --output_dir (default: a new temporary folder)")
    p.add_argument("main_args", nargs="*", help="after --: main.py's flags")
    args = p.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("MPLBACKEND", "Agg")
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import backend
    backend.select_backend(args.backend)
    import bench
    import bench_runs
    import report
    import train
    import utils
    if not Path(args.model).exists():
        train.save_model(bench.resnet50_random(), args.model)
    out = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="per-image-"))
    argv = ["--model_path", args.model, "--n_images", str(args.n_images), "--no_progress",
            "--output_dir", str(out), "--backend", args.backend] + args.main_args
    status, wall, loop, host_cpu, clock = bench_runs.one_run(argv)
    marks = clock.marks
    print(f"main.py {' '.join(argv)}")
    print(f"exit status {status}; wall {wall:.1f} s; image loop {loop:.1f} s; host processes {host_cpu:.1f} CPU-s")
    print("marks (s after main.main): " + ", ".join(f"{k} {v:.1f}" for k, v in marks.items()))
    stages = [marks.get("images", 0)] + sorted(v for k, v in marks.items() if k.startswith("model stage "))
    print("model stage per image (s): " + ", ".join(f"{b - a:.1f}" for a, b in zip(stages, stages[1:])))
    rows = report.read_rows(out / "results.csv")
    per = {}
    for r in rows:
        if r.get("seconds") == r.get("seconds"):  # NaN for the reference rows
            per.setdefault(r["method"], []).append(float(r["seconds"]))
    for method, secs in per.items():
        print(f"  {method}: " + ", ".join(f"{s:.2f}" for s in secs) + " s")
    n = len({r["image"] for r in rows})
    total = bench_runs.evaluations(utils.load_model(args.model), out)
    print(f"{n} images, {total} model evaluations ({total / max(n, 1):.0f} per image); output in {out}")
    return status


if __name__ == "__main__":
    sys.exit(main())
