"""Benchmark of whole runs: the plain run against the same run on Ray actors, on the same machine
(same cores, so the point is the Ray runner's overhead, not a speed-up), each in a fresh process.

    python benchmarks/bench_runs.py                       # 12 demo images, ALL methods, 2 Ray workers
    python benchmarks/bench_runs.py --n_images 4 --quick  # seconds (fewer masks and samples)

Reports wall time and images/s of each; the Ray run's time includes starting Ray and its actors
(each loads the model once), which the "first image" column shows apart.
"""
import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run(args, extra):
    """(wall seconds, seconds to the first finished image) of one main.py run in a fresh process."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out"
        cmd = [sys.executable, "main.py", "--n_images", str(args.n_images), "--output_dir", str(out),
               "--display_type", "none", "--no_progress"] + (["--rise_masks", "500", "--lime_samples", "200"]
                                                             if args.quick else []) + extra
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


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n_images", type=int, default=12)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--output", default=None, help="also write the Markdown table here")
    args = p.parse_args(argv)
    rows = ["| run | images | wall (s) | first image (s) | images/s | vs plain |", "|---|---|---|---|---|---|"]
    plain = run(args, [])
    for name, extra in (("plain", []), (f"Ray, {args.workers} workers", ["--ray", "--workers", str(args.workers)])):
        wall, first = plain if name == "plain" else run(args, extra)
        rows.append(f"| {name} | {args.n_images} | {wall:.1f} | {'' if first is None else f'{first:.1f}'} | "
                    f"{args.n_images / wall:.3f} | {wall / plain[0]:.2f} |")
    table = "\n".join(rows) + "\n"
    print(table)
    if args.output:
        Path(args.output).write_text(table)


if __name__ == "__main__":
    main()
