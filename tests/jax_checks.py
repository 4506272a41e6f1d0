"""The checks that need a process on JAX, all in one (a process of its own imports JAX and Keras
again, 3-4 s each): tests/conftest.py's session fixture `jax_checks` runs

    KERAS_BACKEND=jax JAX_PLATFORMS=cpu python tests/jax_checks.py OUT

and the tests read their parts (core/test_backend.py, metrics/test_sanity.py, test_bench.py). In
this order, each in OUT:
  compile_cache  the backend from the variable, then the compile cache turned off, on after a
                 compilation, unmakeable, on and off again (first: nothing may compile before it)
                 -> compile_cache.json, the folders c/ and d/
  weights        core/test_backend.check_assigned_weights_are_seen on JAX
  cascade        metrics/test_sanity.check_the_cascade on JAX
  parity         backend_parity.compute() -> parity.npz
  gpu_check      benchmarks/gpu_check.py --quick, main.py's compile cache in gpu_check/cache and
                 --display_type none (last: its benchmark compiles before main.py sets the cache,
                 which the steps before left off) -> gpu_check/
OUT/outcomes.json: each part's "ok" or its traceback, written after each part. The process runs
beside the other tests, in Linux's idle scheduling class: it takes no time slice from them.
"""
import json
import os
import sys
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "tests" / "core"), str(ROOT / "tests" / "metrics"),
                str(ROOT / "benchmarks")]


def compile_cache(out):
    # the backend from the variable first (before Keras is imported); then a compilation before the
    # cache is set (as a benchmark's forward pass) does not keep it off
    from xai_mexculture.core import backend
    found = {"backend": backend.select_backend(None)}
    import jax
    found["off"] = [backend.use_compile_cache("none"), jax.config.jax_compilation_cache_dir]
    jax.jit(lambda x: x + 1)(1.0)
    found["set"] = backend.use_compile_cache(str(out / "c")) == jax.config.jax_compilation_cache_dir
    jax.jit(lambda x: x * 3)(1.0)
    found["unmakeable"] = backend.use_compile_cache("/proc/no/such/folder")
    # turned off again after a run (in the same process) had it on: nothing more is written
    backend.use_compile_cache(str(out / "d"))
    jax.jit(lambda x: x * 5)(1.0)
    found["written_on"] = len(os.listdir(out / "d"))
    backend.use_compile_cache("none")
    jax.jit(lambda x: x * 7)(1.0)
    found["written_after_off"] = len(os.listdir(out / "d"))
    (out / "compile_cache.json").write_text(json.dumps(found))


def weights(out):
    import test_backend
    test_backend.check_assigned_weights_are_seen()


def cascade(out):
    import test_sanity
    test_sanity.check_the_cascade()


def parity(out):
    import numpy as np
    import backend_parity
    np.savez(out / "parity.npz", **backend_parity.compute())


def gpu_check(out):
    import gpu_check as script
    folder = out / "gpu_check"
    # the measured runs without figures or plots (the warm-up run draws them, on JAX)
    script.main(["--out", str(folder), "--quick", "--main_args", "--compile_cache", str(folder / "cache"),
                 "--display_type", "none"])


PARTS = (compile_cache, weights, cascade, parity, gpu_check)


def main(out):
    from xai_mexculture.run import pipeline  # imports neither Keras nor JAX
    pipeline.lowest_priority()  # as a host process (its threads, made later, inherit the class)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    outcomes = {}
    for part in PARTS:
        try:
            part(out)
            outcomes[part.__name__] = "ok"
        except (Exception, SystemExit):  # a SystemExit of the benchmark too: the others still run
            outcomes[part.__name__] = traceback.format_exc()
            print(outcomes[part.__name__], file=sys.stderr, flush=True)
        (out / "outcomes.json").write_text(json.dumps(outcomes, indent=1))


if __name__ == "__main__":
    main(sys.argv[1])
