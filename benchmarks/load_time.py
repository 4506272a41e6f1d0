"""Seconds to load a saved model, each load in a fresh process (what a run, a shard or a Ray actor
pays once): `utils.load_model` against a plain `keras.saving.load_model(path, compile=False)`, which
draws every variable's initial value before reading the file's (on JAX each initialiser of a new
shape is an XLA compilation). Prints the median and the range of --repeat loads of each, and whether
both give the same weights.

    python benchmarks/load_time.py                                  # the demo model, TensorFlow
    python benchmarks/load_time.py --model resnet50 --backend jax   # a random-weight ResNet50 (saved first)
    python benchmarks/load_time.py --model path/to/model.keras
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CODE = """
import json, sys, time
sys.path.insert(0, {root!r})
import numpy as np, keras
from xai_mexculture.core import model_io, model_layers  # the custom layers registered
start = time.perf_counter()
model = model_io.load_model({path!r}) if {ours!r} else keras.saving.load_model({path!r}, compile=False)
seconds = time.perf_counter() - start
weights = [np.asarray(w.value) for w in model.weights if "seed_generator" not in w.path]
digest = float(sum(np.float64(np.abs(w).sum()) for w in weights))
print(json.dumps(dict(seconds=seconds, digest=digest, n=len(weights))))
"""


def one_load(path, ours, backend):
    """(seconds, weight digest, number of weights) of one load in a fresh process."""
    env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="2")
    res = subprocess.run([sys.executable, "-c", CODE.format(root=str(ROOT), path=str(path), ours=ours)],
                         capture_output=True, text=True, env=env)
    if res.returncode:
        raise SystemExit(f"the load of {path} failed:\n{res.stderr[-3000:]}")
    out = json.loads(res.stdout.strip().splitlines()[-1])
    return out["seconds"], out["digest"], out["n"]


def model_path(name, folder) -> Path:
    sys.path.insert(0, str(ROOT))
    if name == "demo":
        import constants
        return Path(constants.DEMO_MODEL)
    if name == "resnet50":
        sys.path.insert(0, str(ROOT / "benchmarks"))
        import bench
        from xai_mexculture.cli import train
        path = Path(folder) / "resnet50_random.keras"
        train.save_model(bench.resnet50_random(), path)
        return path
    return Path(name)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="demo", help="demo, resnet50 (random weights, saved first) or a .keras path")
    p.add_argument("--backend", default=os.environ.get("KERAS_BACKEND", "tensorflow"), choices=("tensorflow", "jax"))
    p.add_argument("--repeat", type=int, default=5, help="fresh processes per way of loading")
    p.add_argument("--output", default=None, help="also write the table here")
    return p.parse_args(argv)


LOADS = (("keras.saving.load_model (initial values drawn)", False), ("utils.load_model (values from the file only)", True))


def measure(args) -> dict:
    """The loads as data: the file's name and size (MB), the backend, and per way of loading (LOADS'
    labels) the list of (seconds, weight digest, number of weights) of its --repeat fresh processes."""
    os.environ["KERAS_BACKEND"] = args.backend
    with tempfile.TemporaryDirectory() as folder:
        path = model_path(args.model, folder)
        path.read_bytes()  # the file into the page cache (the modules a load reads are imported before its
        # clock starts: `import keras` brings keras.saving, h5py and zipfile)
        loads = {label: [one_load(path, ours, args.backend) for _ in range(args.repeat)] for label, ours in LOADS}
        return dict(name=path.name, size_mb=path.stat().st_size / 1e6, backend=args.backend, repeat=args.repeat,
                    loads=loads)


def same_weights(res) -> bool:
    """Whether every load gave the same weights (digest to 6 decimals, and count)."""
    return len({(round(d, 6), n) for runs in res["loads"].values() for _, d, n in runs}) == 1


def table(res) -> str:
    lines = [f"Load of {res['name']} ({res['size_mb']:.1f} MB), Keras on {res['backend']}, each load in a "
             f"fresh process, {res['repeat']} loads each, file in the page cache",
             "", "| load | median (s) | range (s) |", "|---|---|---|"]
    for label, runs in res["loads"].items():
        seconds = [r[0] for r in runs]
        lines.append(f"| {label} | {statistics.median(seconds):.2f} | {min(seconds):.2f}-{max(seconds):.2f} |")
    digests = sorted({(round(d, 6), n) for runs in res["loads"].values() for _, d, n in runs})
    lines += ["", "Same weights both ways: " + ("yes" if same_weights(res) else f"NO ({digests})")]
    return "\n".join(lines) + "\n"


def main(argv=None):
    """Prints the table (and writes it to --output) and returns it; `measure` gives the numbers."""
    args = parse_args(argv)
    text = table(measure(args))
    print(text)
    if args.output:
        Path(args.output).write_text(text)
    return text


if __name__ == "__main__":
    main()
