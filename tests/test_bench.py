import os
import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import bench  # noqa: E402


def test_benchmark_smoke(tmp_path):
    out = tmp_path / "bench.md"
    rows = bench.main(["--models", "demo", "--quick", "--memory", "--output", str(out)])
    text = out.read_text()
    for measure in ("forward-pass limit", "GRADCAM on 12 images", "FEM on 12 images", "RISE (64 evaluations)",
                    "LIME model part (32 samples)", "insertion (step", "deletion (step", "4 maps together",
                    "lime package, plain", "model.predict", "peak RSS", "Backend: tensorflow",
                    "MuFidelity (32 samples)", "sAUC", "Sparseness", "MaxSensitivity",
                    "ROAD per map and order (1 levels)"):
        assert measure in text, measure
    import explainers
    for method in explainers.names():  # every registered method has its row
        assert f"| demo | {method} " in text, method
    ratios = [r[5] for r in rows if r[5] is not None]
    assert ratios and all(r > 0 for r in ratios)


def test_end_to_end_rows(tmp_path, caplog):
    import bench_runs
    import pipeline
    caplog.set_level("WARNING")
    table = bench_runs.main(["--end_to_end", "--synthetic", "1", "--n_images", "2", "--quick", "--repeat", "2",
                             "--output", str(tmp_path / "e2e.md")])
    assert "forward-pass limit" in table and "| serial (--host_workers 0) | 2 |" in table
    data = re.search(r"synthetic data, 1 per class drawn like the demo's \((\S+)\)", table)
    assert data and len(list((Path(data[1]) / "images_test").glob("*.png"))) == 3, table
    walls = re.search(r"median wall time of 2 \(walls in s: serial ([\d.]+), ([\d.]+); pipelined ([\d.]+), ([\d.]+)\)",
                      table)
    assert walls, table  # two rounds of each, alternated; each row is the lower-middle one
    measures = re.search(r"measured 5 times, before the first run and after each: ([\d, ]+) img/s; each run's "
                         r"evaluations replayed after it through the same call: ([\d, ]+) img/s", table)
    assert measures, table  # the limit before the first run, then after each of the 4; a replay after each
    limits = [float(x) for x in measures.group(1).split(", ")]
    replays = [float(x) for x in measures.group(2).split(", ")]
    assert len(replays) == 4 and "| pipelined (--host_workers " in table and "wall / (model + host / cores)" in table
    row = next(line for line in table.splitlines() if line.startswith("| pipelined"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    evals, limit, model_s, replayed = int(cells[2].replace(",", "")), float(cells[3]), float(cells[4]), float(cells[5])
    host, wall, ratio, per_model = float(cells[6].split()[0]), float(cells[7]), float(cells[10]), float(cells[11])
    assert re.fullmatch(r"[\d.]+ \([\d.]+; processes [\d.]+\)", cells[6]) and "after 'processes'" in table
    assert not [r for r in caplog.records if "retracing" in r.getMessage()]  # each run's own first trace
    assert "a shorter run is mostly its fixed part" in table
    idle = re.fullmatch(r"([\d.]+) of (\d+)", cells[9])  # the cores' idle time during the run, of cores x wall
    assert idle and 0 <= float(idle[1]) <= int(idle[2]) + 1 and abs(int(idle[2]) - wall * os.cpu_count()) <= 1, cells
    # per image: 1 prediction + GRADCAM 1 + FEM 1 + RISE 500 + LIME 200 + 6 maps x 2 curves x 225 + MuFidelity 201
    assert evals == 2 * (1 + 1 + 1 + 500 + 200 + 6 * 2 * 225 + 201)
    assert model_s > 0 and wall > 0 and ratio > 0
    assert wall == pytest.approx(min(float(walls[3]), float(walls[4])), abs=0.051)
    # the order serial 1, pipelined 1, serial 2, pipelined 2: the row's run is set against the
    # faster of the two measures around it, not the fastest of all; likewise the replays
    k = 0 if wall == pytest.approx(float(walls[3]), abs=0.051) else 1
    assert limit == pytest.approx(max(limits[2 * k + 1], limits[2 * k + 2]), abs=0.51)
    assert model_s == pytest.approx(evals / limit, rel=0.01, abs=0.051)
    assert replayed == pytest.approx(evals / max(replays[2 * k], replays[2 * k + 1]), rel=0.01, abs=0.051)
    # the ratios are against the replayed model time (the one at the limit in a line of its own);
    # the cells are rounded to 0.1 s
    assert ratio == pytest.approx(wall / (replayed + host / pipeline.cores()), rel=0.03)
    assert per_model == pytest.approx(wall / replayed, rel=0.03)
    assert f"against the fastest of the 5 limit measures ({max(limits):.0f} img/s)" in table
    at_limit = re.search(r"At the limit around the run instead, .*pipelined ([\d.]+) / ([\d.]+); against", table)
    assert at_limit and float(at_limit[2]) == pytest.approx(wall / model_s, rel=0.03), table
    # the pipelined run from its second image on: the time between its two model stages' marks
    steady = re.search(r"pipelined: ([\d.]+) s per image against ([\d.]+) s of model work \(([\d.]+) x\); "
                       r"fixed part ([\d.]+) s of (\d+\.\d)", table)
    marks = re.search(r"pipelined: start .*model stage 1 ([\d.]+), model stage 2 ([\d.]+), images_done", table)
    assert steady and marks, table
    per_image, of_model, ratio, fixed, of = map(float, steady.groups())
    # each printed to 0.01 s (the marks, the pace) or 0.1 s (the walls, the fixed part)
    assert per_image == pytest.approx(float(marks[2]) - float(marks[1]), abs=0.02)
    assert of_model == pytest.approx(replayed / 2, abs=0.04) and of == pytest.approx(wall, abs=0.051)
    assert ratio == pytest.approx(per_image / of_model, rel=0.02) and fixed == pytest.approx(wall - 2 * per_image, abs=0.12)


def test_steady_state_of_a_pipelined_run():
    import types
    import bench_runs
    clock = types.SimpleNamespace(marks={"start": 0.0, "model stage 1": 5.0, "model stage 2": 7.0,
                                         "model stage 3": 10.0, "images_done": 11.0})
    run = bench_runs.Run(Path("."), 12.0, 10.5, 0.0, clock, 150.0, None, 600, 100.0)
    # stages 1 -> 3: 5 s for 2 images; 600 evaluations of 3 images replayed at 100 img/s: 2 s per image
    per_image, model_per_image, fixed = bench_runs.steady_state(run, 3)
    assert (per_image, model_per_image, fixed) == (2.5, 2.0, 12.0 - 3 * 2.5)
    assert bench_runs.steady_state(run, 4) is None  # an image without its mark (it failed)
    serial = run._replace(clock=types.SimpleNamespace(marks={"start": 0.0, "images_done": 11.0}))
    assert bench_runs.steady_state(serial, 3) is None and bench_runs.steady_state(run._replace(evals=200), 1) is None


def test_end_to_end_needs_a_host_process(capsys):
    import bench_runs
    with pytest.raises(SystemExit):
        bench_runs.main(["--end_to_end", "--host_workers", "0"])
    assert "--host_workers 0: the pipelined run needs at least 1 host process" in capsys.readouterr().err
    for argv, message in ((["--end_to_end", "--synthetic", "0"], "--synthetic 0: at least 1 image per class"),
                          (["--synthetic", "2"], "--synthetic is for --end_to_end runs")):
        with pytest.raises(SystemExit):
            bench_runs.main(argv)
        assert message in capsys.readouterr().err


def test_first_image_overhead_per_method():
    import bench_runs
    rows = [dict(method="RISE", seconds="3.0"), dict(method="CENTER", seconds=""),
            dict(method="RISE", seconds="1.0"), dict(method="LIME", seconds="2.5"),
            dict(method="RISE", seconds="2.0"), dict(method="RISE", seconds="1.5")]
    # RISE: first 3.0, the others 1.0, 2.0, 1.5 -> median 1.5; LIME has one image, CENTER no seconds
    assert bench_runs.first_image_overhead(rows) == {"RISE": (3.0, 1.5)}


def test_first_image_line_covers_every_run(tmp_path):
    import bench_runs
    measured = {}
    for name, first in (("serial (--host_workers 0)", 3.0), ("pipelined (--host_workers 2)", 2.5)):
        out = tmp_path / name.split()[0]
        out.mkdir()
        (out / "results.csv").write_text(f"image,method,seconds\na,RISE,{first}\nb,RISE,1.0\nc,RISE,2.0\n")
        measured[name] = (out, 0.0)
    line = bench_runs._first_line(measured)
    assert line.endswith("serial: RISE 3.00 (1.50); pipelined: RISE 2.50 (1.50)"), line
    # one image per run: nothing to compare
    (tmp_path / "serial" / "results.csv").write_text("image,method,seconds\na,RISE,3.0\n")
    assert bench_runs._first_line({"serial (--host_workers 0)": (tmp_path / "serial",)}) is None


def test_gpu_check_dry_run_on_jax(tmp_path):
    # the script a GPU session runs, with tiny settings, in a process of its own on the JAX backend
    import os
    import subprocess
    root = Path(__file__).resolve().parents[1]
    env = dict(os.environ, KERAS_BACKEND="jax", MPLBACKEND="Agg")
    subprocess.run([sys.executable, str(root / "benchmarks" / "gpu_check.py"), "--out", str(tmp_path), "--quick",
                    "--main_args", "--compile_cache", str(tmp_path / "cache")],
                   check=True, env=env, cwd=tmp_path, capture_output=True, timeout=600)
    bench_table = (tmp_path / "bench_jax_gpu.md").read_text()
    e2e = (tmp_path / "e2e_demo_quick.md").read_text()
    assert "Backend: jax" in bench_table and "| demo | RISE (64 evaluations) |" in bench_table
    assert "Backend: jax" in e2e and "| pipelined (--host_workers " in e2e
    marks = re.search(r"pipelined: start ([0-9.]+), model ([0-9.]+), explainers ([0-9.]+), images ([0-9.]+), "
                      r"model stage 1 ([0-9.]+), images_done ([0-9.]+), tables ([0-9.]+), plots ([0-9.]+)", e2e)
    assert marks and sorted(map(float, marks.groups())) == list(map(float, marks.groups())), e2e
    # the rest of the line went to main.py: its compile cache holds programs, although the benchmark
    # compiled the forward pass before main.py set the cache (JAX had settled on no cache then)
    assert f"--compile_cache {tmp_path / 'cache'}" in e2e and len(list((tmp_path / "cache").iterdir())) >= 3


def test_load_time_compares_both_loads_in_fresh_processes(tmp_path):
    import load_time
    table = load_time.main(["--repeat", "1", "--backend", "tensorflow", "--output", str(tmp_path / "load.md")])
    assert (tmp_path / "load.md").read_text() == table
    rows = re.findall(r"^\| (keras\.saving\.load_model|utils\.load_model) .*\| ([0-9.]+) \| ([0-9.]+)-([0-9.]+) \|$",
                      table, re.M)
    assert [r[0] for r in rows] == ["keras.saving.load_model", "utils.load_model"]
    assert all(float(low) == float(median) == float(high) > 0 for _, median, low, high in rows)
    assert "Same weights both ways: yes" in table


def test_per_image_on_the_demo_model(capsys, tmp_path):
    """benchmarks/per_image.py (the docs' ResNet50 timings) on the demo model, one image, one method:
    its marks, its `seconds` and its count of evaluations (prediction + Grad-CAM + 2 x 14 curve scores
    at step 4096 + MuFidelity's 201)."""
    import constants
    import per_image
    status = per_image.main(["--model", str(constants.DEMO_MODEL), "--n_images", "1", "--out", str(tmp_path / "o"),
                             "--",
                             "--explanation_method", "GRADCAM", "--references", "none", "--step", "4096",
                             "--display_type", "none"])
    out = capsys.readouterr().out
    assert status == 0, out
    assert "model stage per image (s): " in out and "  GRADCAM: " in out
    assert "1 images, 231 model evaluations (231 per image)" in out
