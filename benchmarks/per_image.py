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


def run(argv=None) -> dict:
    """The run and its numbers: exit status, wall, image loop and host-process CPU seconds, the marks
    (s after main.main was called), each image's model stage (s), each method's `seconds` per image,
    the images done, the model evaluations (bench_runs.evaluations), the output folder and main.py's
    flags."""
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
    from xai_mexculture.core import backend
    backend.select_backend(args.backend)
    import bench
    import bench_runs
    from xai_mexculture.results import tables
    from xai_mexculture.cli import train
    from xai_mexculture.core import model_io
    if not Path(args.model).exists():
        train.save_model(bench.resnet50_random(), args.model)
    out = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="per-image-"))
    argv = ["--model_path", args.model, "--n_images", str(args.n_images), "--no_progress",
            "--output_dir", str(out), "--backend", args.backend] + args.main_args
    status, wall, loop, host_cpu, clock = bench_runs.one_run(argv)
    marks = clock.marks
    stages = [marks.get("images", 0)] + sorted(v for k, v in marks.items() if k.startswith("model stage "))
    rows = tables.read_rows(out / "results.csv")
    per = {}
    for r in rows:
        if r.get("seconds") == r.get("seconds"):  # NaN for the reference rows
            per.setdefault(r["method"], []).append(float(r["seconds"]))
    return dict(status=status, wall=wall, loop=loop, host_cpu=host_cpu, marks=dict(marks),
                stages=[b - a for a, b in zip(stages, stages[1:])], seconds=per,
                images=len({r["image"] for r in rows}),
                evaluations=bench_runs.evaluations(model_io.load_model(args.model), out), out=out, argv=argv)


def main(argv=None):
    """Prints `run`'s numbers; returns the run's exit status."""
    res = run(argv)
    print(f"main.py {' '.join(res['argv'])}")
    print(f"exit status {res['status']}; wall {res['wall']:.1f} s; image loop {res['loop']:.1f} s; "
          f"host processes {res['host_cpu']:.1f} CPU-s")
    print("marks (s after main.main): " + ", ".join(f"{k} {v:.1f}" for k, v in res["marks"].items()))
    print("model stage per image (s): " + ", ".join(f"{s:.1f}" for s in res["stages"]))
    for method, secs in res["seconds"].items():
        print(f"  {method}: " + ", ".join(f"{s:.2f}" for s in secs) + " s")
    n, total = res["images"], res["evaluations"]
    print(f"{n} images, {total} model evaluations ({total / max(n, 1):.0f} per image); output in {res['out']}")
    return res["status"]


if __name__ == "__main__":
    sys.exit(main())
