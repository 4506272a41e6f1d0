import math
import os
import re
import sys
from pathlib import Path

import pytest
from conftest import jax_part

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import bench  # noqa: E402


def test_benchmark_rows(tmp_path, monkeypatch):
    """bench.py on the demo model with tiny settings, in this process: a row per measure and per
    registered method, the counts of evaluations exact, every ratio finite and positive (the RISE
    memory measure's fresh processes stubbed here: test_rise_peak_memory_in_a_fresh_process), without
    XLA."""
    from xai_mexculture import explainers
    out = tmp_path / "bench.md"
    peaks = []
    monkeypatch.setattr(bench, "rise_peak_rss", lambda model, n, bs: peaks.append((model, n, bs)) or (500.0, 600.0 + n))
    # --jit off: the XLA compilations of every measure are most of the time (about 8 of 24 s), and the
    # compiled calls are the JAX dry run's (test_gpu_check_dry_run_on_jax)
    rows = bench.main(["--models", "demo", "--quick", "--memory", "--min_seconds", "0", "--jit", "off",
                       "--output", str(out)])
    text = out.read_text()
    assert text.startswith("Backend: tensorflow") and all(bench.row_text(r) in text for r in rows)
    assert peaks == [("demo", 64, 64), ("demo", 128, 64)]
    memory = [r for r in rows if "peak RSS" in r[1]]
    assert [(r[1], r[2], r[6]) for r in memory] == [
        (f"RISE peak RSS, {n} masks", n, f"{600 + n} MB (before RISE 500 MB); target < 1500 MB") for n in (64, 128)]
    rows = [r for r in rows if r not in memory]
    by_measure = {measure: (evals, seconds, ideal, ratio) for model, measure, evals, seconds, ideal, ratio, _ in rows}
    assert {model for model, *_ in rows} == {"demo"}
    # --quick: 64 masks, 32 LIME samples, curves at step 4096 (224 x 224: 13 steps + 1), MuFidelity 32 samples,
    # OCCLUSION's 32 x 32 window at stride 32 (7 x 7 positions + the unoccluded image)
    expected = {"OCCLUSION (50 evaluations)": 50, "forward-pass limit (batch 64)": 128, "forward pass of 12 images (one batch)": 12,
                "GRADCAM on 12 images (vs their forward pass)": 12, "FEM on 12 images (vs their forward pass)": 12,
                "RISE (64 evaluations)": 64, "LIME (32 evaluations)": 32, "LIME model part (32 samples)": 32,
                "insertion (step 4096)": 14, "deletion (step 4096)": 14,
                "insertion + deletion, 4 maps together": 2 * 4 * 14, "MuFidelity (32 samples)": 33,
                "sAUC (15 fixations, 3000 negatives)": 0, "Sparseness": 0,
                "MaxSensitivity of a GRADCAM map (10 explanations)": 10, "ROAD per map and order (1 levels)": 1,
                "reference: lime package, plain (batch 10, model.predict)": 32,
                "reference: RISE scored with model.predict (batch 32)": 64}
    for measure, evals in expected.items():
        assert by_measure[measure][0] == evals, (measure, by_measure.get(measure))
    for method in explainers.names():  # every registered method has its row
        assert [m for m in by_measure if m.startswith(f"{method} ")], method
    for measure, (evals, seconds, ideal, ratio) in by_measure.items():
        assert seconds is not None and math.isfinite(seconds) and seconds > 0, measure
        assert ratio is None or (math.isfinite(ratio) and ratio > 0 and ratio == seconds / ideal), measure
    assert sum(ratio is not None for *_, ratio in by_measure.values()) >= len(explainers.names()) + 6


def test_rise_peak_memory_in_a_fresh_process():
    before, peak = bench.rise_peak_rss("demo", 128, 64)
    assert 0 < before <= peak


def test_bench_command_line():
    import subprocess
    res = subprocess.run([sys.executable, str(Path(bench.__file__)), "--help"], capture_output=True, text=True,
                         timeout=300)
    assert res.returncode == 0 and "--min_seconds" in res.stdout, res.stderr


def test_end_to_end_numbers(tmp_path, caplog, monkeypatch, capsys):
    """bench_runs.end_to_end in this process: 3 synthetic images, 2 of them run; one round of the
    serial and the pipelined run with tiny settings; its numbers, then the table (a round's median:
    test_each_row_is_the_run_of_median_wall_time; the warm-up run, on the same data, is the gpu_check
    dry run's: test_gpu_check_dry_run_on_jax)."""
    import bench_runs
    from xai_mexculture.run import host_clock
    caplog.set_level("WARNING")
    medians, real_median = [], bench_runs.median_run
    monkeypatch.setattr(bench_runs, "median_run", lambda runs: medians.append(runs) or real_median(runs))
    warmed = []
    monkeypatch.setattr(bench_runs, "warm_up", lambda out, model, data: warmed.append((out.name, model, data)))
    tiny = ["--rise_masks", "64", "--lime_samples", "32", "--step", "4096", "--display_type", "none"]
    res = bench_runs.end_to_end(bench_runs.parse_args(
        ["--end_to_end", "--synthetic", "1", "--n_images", "2", "--quick", "--repeat", "1", "--limit_images", "128",
         "--extra"] + tiny))
    assert not [r for r in caplog.records if "retracing" in r.getMessage()]  # each run's own first trace
    assert len(list((res["tmp"] / "synthetic" / "images_test").glob("*.png"))) == 3
    assert warmed == [("warm-up", None, res["data"])] and res["data"][:2] == [
        "--test_images_folder_path", str(res["tmp"] / "synthetic" / "images_test")]  # once, on the runs' data
    serial, pipelined = "serial (--host_workers 0)", f"pipelined (--host_workers {host_clock.cores()})"
    limits, replays, runs, rows = res["limits"], res["replays"], res["runs"], res["rows"]
    assert list(rows) == [serial, pipelined] and [len(r) for r in runs.values()] == [1, 1]
    assert medians == list(runs.values())  # each row: its configuration's median run
    # the limit before the first run, then after each of the 2; a replay after each
    assert len(limits) == 3 and len(replays) == 2
    assert all(math.isfinite(x) and x > 0 for x in limits + replays)
    assert res["fastest"] == max(limits) and res["limit_images"] == 128
    order = [runs[serial][0], runs[pipelined][0]]  # as they ran
    for name, row in rows.items():
        run = row["run"]
        assert row["images"] == 2 and run is runs[name][0]
        # per image: 1 prediction + GRADCAM 1 + FEM 1 + RISE 64 + LIME 32 + 6 maps x 2 curves x (13 + 1)
        # (step 4096 on 224 x 224) + MuFidelity 201
        assert row["evals"] == run.evals == 2 * (1 + 1 + 1 + 64 + 32 + 6 * 2 * 14 + 201)
        # each run against the faster of the measures just before and after it, not the fastest of all;
        # likewise the replays (the first run has only the one after it)
        j = next(i for i, r in enumerate(order) if r is run)
        assert row["limit"] == max(limits[j], limits[j + 1]) and row["replayed"] == row["evals"] / max(
            replays[max(j - 1, 0):j + 1])
        assert row["model_s"] == row["evals"] / row["limit"] and row["wall"] == run.wall > 0
        assert row["model_s"] > 0 and row["replayed"] > 0 and row["host"] >= 0 and row["pool_cpu"] >= 0
        assert row["children"] >= 0
        # the ratios are against the replayed model time
        assert row["ratio"] == pytest.approx(row["wall"] / (row["replayed"] + row["host"] / host_clock.cores()),
                                             rel=1e-12) and row["ratio"] > 0
        assert row["per_model"] == pytest.approx(row["wall"] / row["replayed"], rel=1e-12)
        assert row["at_limit"][1] == pytest.approx(row["wall"] / row["model_s"], rel=1e-12)
        assert row["against_fastest"][1] == pytest.approx(row["wall"] * max(limits) / row["evals"], rel=1e-12)
        # the cores' idle time during the run, of cores x wall; /proc/stat counts it from just before
        # main.main is called to just after (a little longer than the wall), in ticks of 0.01 s per core
        assert row["idle_of"] == pytest.approx(row["wall"] * os.cpu_count(), rel=1e-12)
        assert row["idle"] is not None and 0 <= row["idle"] <= row["idle_of"] + 1, row
    # the pipelined run from its second image on: the time between its two model stages' marks
    marks = rows[pipelined]["marks"]
    per_image, of_model, fixed = rows[pipelined]["steady"]
    assert per_image == pytest.approx(marks["model stage 2"] - marks["model stage 1"], rel=1e-12)
    assert of_model == pytest.approx(rows[pipelined]["replayed"] / 2, rel=1e-12)
    assert fixed == pytest.approx(rows[pipelined]["wall"] - 2 * per_image, rel=1e-12)

    table = bench_runs.end_to_end_table(res)  # the printing: a layer over the numbers
    assert f"forward-pass limit (batch 64, 128 images, the best of {bench.LIMIT_REPEAT}) measured 3 times" in table
    for name, row in rows.items():
        assert f"| {name} | 2 | {row['evals']:,} | {row['limit']:.0f} | {row['model_s']:.1f} | " in table
        assert f"| {row['ratio']:.2f} | {row['per_model']:.2f} | {row['loop_per_model']:.2f} |" in table
    for text in ("after 'processes'", "a shorter run is mostly its fixed part", "synthetic data, 1 per class",
                 f"against the fastest of the 3 limit measures ({max(limits):.0f} img/s)",
                 f"pipelined: {per_image:.2f} s per image against {of_model:.2f} s of model work"):
        assert text in table, text
    assert "Each row: the run of median wall time" not in table  # one round: no median to speak of
    # with rounds, the walls of every run: these two runs' walls and one second more each
    walls = {name: [r.wall, r.wall + 1.0] for name, (r,) in runs.items()}
    rounds = dict(res, repeat=2, runs={name: [r, r._replace(wall=r.wall + 1.0)] for name, (r,) in runs.items()})
    assert (f"Each row: the run of median wall time of 2 (walls in s: serial {walls[serial][0]:.1f}, "
            f"{walls[serial][1]:.1f}; pipelined {walls[pipelined][0]:.1f}, {walls[pipelined][1]:.1f}).") in \
        bench_runs.end_to_end_table(rounds)
    # the command line prints that table and writes it to --output
    monkeypatch.setattr(bench_runs, "end_to_end", lambda args: res)
    assert bench_runs.main(["--end_to_end", "--output", str(tmp_path / "e2e.md")]) == table
    assert (tmp_path / "e2e.md").read_text() == table and table in capsys.readouterr().out


def test_each_row_is_the_run_of_median_wall_time():
    import bench_runs

    def runs(*walls):
        return [bench_runs.Run(Path(f"r{i}"), wall, wall, 0.0, None, 100.0, None) for i, wall in enumerate(walls)]
    one, two, three, four = runs(5.0), runs(3.0, 1.0), runs(3.0, 1.0, 2.0), runs(4.0, 1.0, 3.0, 2.0)
    assert bench_runs.median_run(one) is one[0]
    assert bench_runs.median_run(two) is two[1]  # the lower middle of an even count
    assert bench_runs.median_run(three) is three[2]
    assert bench_runs.median_run(four).wall == 2.0


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


def test_gpu_check_dry_run_on_jax(jax_checks):
    # the script a GPU session runs, with tiny settings, on the JAX backend (in the process of
    # tests/jax_checks.py, after its other checks)
    jax_part(jax_checks, "gpu_check")
    out = jax_checks["dir"] / "gpu_check"
    bench_table = (out / "bench_jax_gpu.md").read_text()
    e2e = (out / "e2e_demo_quick.md").read_text()
    assert "Backend: jax" in bench_table and "| demo | RISE (64 evaluations) |" in bench_table
    assert "Backend: jax" in e2e and "| pipelined (--host_workers " in e2e
    marks = re.search(r"pipelined: start ([0-9.]+), model ([0-9.]+), explainers ([0-9.]+), images ([0-9.]+), "
                      r"model stage 1 ([0-9.]+), images_done ([0-9.]+), tables ([0-9.]+), plots ([0-9.]+)", e2e)
    assert marks and sorted(map(float, marks.groups())) == list(map(float, marks.groups())), e2e
    # the rest of the line went to main.py: its compile cache holds programs, although the benchmark
    # compiled the forward pass before main.py set the cache (JAX had settled on no cache then)
    assert f"--compile_cache {out / 'cache'} --display_type none" in e2e
    assert len(list((out / "cache").iterdir())) >= 3


def test_load_time_compares_both_loads_in_fresh_processes(tmp_path, monkeypatch, capsys):
    import load_time
    res = load_time.measure(load_time.parse_args(["--repeat", "1", "--backend", "tensorflow"]))
    assert list(res["loads"]) == [label for label, _ in load_time.LOADS]
    assert [len(runs) for runs in res["loads"].values()] == [1, 1]
    for (seconds, digest, n), in res["loads"].values():
        assert math.isfinite(seconds) and seconds > 0 and math.isfinite(digest) and digest > 0 and n > 0
    assert load_time.same_weights(res)
    table = load_time.table(res)  # the printing: a layer over the numbers
    rows = re.findall(r"^\| (keras\.saving\.load_model|utils\.load_model) .*\| ([0-9.]+) \| ([0-9.]+)-([0-9.]+) \|$",
                      table, re.M)
    assert [r[0] for r in rows] == ["keras.saving.load_model", "utils.load_model"]
    assert [r[1:] for r in rows] == [(f"{runs[0][0]:.2f}",) * 3 for runs in res["loads"].values()]  # 1 load each
    assert "Same weights both ways: yes" in table
    monkeypatch.setattr(load_time, "measure", lambda args: res)
    assert load_time.main(["--output", str(tmp_path / "load.md")]) == table == (tmp_path / "load.md").read_text()
    assert table in capsys.readouterr().out


def test_per_image_on_the_demo_model(capsys, tmp_path, monkeypatch):
    """benchmarks/per_image.py (the docs' ResNet50 timings) on the demo model, one image, one method:
    its marks, its `seconds` and its count of evaluations (prediction + Grad-CAM + 2 x 14 curve scores
    at step 4096 + MuFidelity's 201)."""
    import constants
    import per_image
    res = per_image.run(["--model", str(constants.DEMO_MODEL), "--n_images", "1", "--out", str(tmp_path / "o"),
                         "--",
                         "--explanation_method", "GRADCAM", "--references", "none", "--step", "4096",
                         "--display_type", "none"])
    assert res["status"] == 0 and res["images"] == 1 and res["evaluations"] == 1 + 1 + 2 * 14 + 201
    assert list(res["seconds"]) == ["GRADCAM"] and len(res["seconds"]["GRADCAM"]) == 1
    assert res["seconds"]["GRADCAM"][0] > 0 and len(res["stages"]) == 1 and res["stages"][0] > 0
    assert "images_done" in res["marks"] and res["wall"] > 0
    # the printing: a layer over the numbers
    monkeypatch.setattr(per_image, "run", lambda argv: res)
    assert per_image.main([]) == 0
    out = capsys.readouterr().out
    assert "model stage per image (s): " in out and "  GRADCAM: " in out
    assert "1 images, 231 model evaluations (231 per image)" in out
