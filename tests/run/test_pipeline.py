"""The pipeline (pipeline.py, --host_workers): the same results as a serial run, rows in image order, a
failing image in the middle, resume, --figures, the host processes' fallbacks, and the figure drawn
from memory equal to the one drawn from the saved files."""
import csv
import os
import re
import shutil
import signal
import time

import fake_run
import numpy as np
import pytest
from fake_run import result_rows

import constants

from xai_mexculture.cli import main
from xai_mexculture.render import figures
from xai_mexculture.render import rebuild
from xai_mexculture.results import tables
from xai_mexculture.run import exits
from xai_mexculture.run import host_clock
from xai_mexculture.run import image_stage
from xai_mexculture.run import options
from xai_mexculture.run import pipeline

FAST = ["--rise_masks", "64", "--lime_samples", "32", "--step", "2000", "--no_progress"]
GOOD = ["Colonial_DemoTest001_Synthetic_N_1", "Modern_DemoTest002_Synthetic_N_1", "Prehispanic_DemoTest003_Synthetic_N_1"]


@pytest.fixture()
def folders(tmp_path):
    """Three good demo images with a corrupt one sorted between them (Colonial_X... after Colonial_D...)."""
    return _folders(tmp_path)


def _folders(tmp_path):
    made = fake_run.demo_folders(tmp_path, GOOD)
    imgs, gfdms, fixs = made["imgs"], made["gfdms"], made["fixs"]
    (imgs / "Colonial_XBroken_X_N_1.png").write_bytes(b"\x89PNG not really")
    shutil.copy(constants.DEMO_TEST_GFDM / "Colonial_DemoTest001_Synthetic_GFDM_N_1.png",
                gfdms / "Colonial_XBroken_X_GFDM_N_1.png")
    return dict(imgs=imgs, gfdms=gfdms, fixs=fixs, root=tmp_path)


@pytest.fixture(scope="module")
def serial_rows(tmp_path_factory):
    """The result rows of the serial run (--host_workers 0) of GRADCAM and LIME on `folders`' images,
    without figures: what the pipelined runs below are held to (read only)."""
    root = tmp_path_factory.mktemp("serial")
    made = _folders(root)
    out = root / "serial"
    assert main.main(_args(made, out, "--explanation_method", "GRADCAM,LIME", "--references", "none",
                           "--host_workers", "0", "--display_type", "none")) == exits.EXIT_PARTIAL
    return _results(out)


def _args(f, out, *extra):
    return ["--test_images_folder_path", str(f["imgs"]), "--test_gdfm_folder_path", str(f["gfdms"]),
            "--fixations_folder_path", str(f["fixs"]), "--output_dir", str(out)] + FAST + list(extra)


def _results(out):
    return result_rows(out / "results.csv")


def _errors(out):
    with (out / "errors.csv").open() as fh:
        return {r["image"]: r["reason"] for r in csv.DictReader(fh)}


def test_pipelined_run_equals_the_serial_one_in_order_with_a_failing_image(folders):
    serial, piped = folders["root"] / "serial", folders["root"] / "piped"
    assert main.main(_args(folders, serial, "--host_workers", "0")) == exits.EXIT_PARTIAL
    assert host_clock.CLOCK.pool_cpu == 0 and host_clock.CLOCK.cpu["figures"] > 0
    assert main.main(_args(folders, piped, "--host_workers", "2")) == exits.EXIT_PARTIAL
    assert host_clock.CLOCK.pool_cpu > 0 and host_clock.CLOCK.cpu["segmentation"] > 0
    rows = _results(piped)
    assert rows == _results(serial)  # every value, every column but seconds, in the same order
    names = [g + ".png" for g in GOOD]
    assert list(dict.fromkeys(r["image"] for r in rows)) == names  # image order, the broken one left out
    assert [r["method"] for r in rows[:6]] == ["GRADCAM", "FEM", "RISE", "LIME", "CENTER", "RANDOM"]
    for out in (serial, piped):
        assert set(_errors(out)) == {"Colonial_XBroken_X_N_1.png"}
        assert "cannot be read" in _errors(out)["Colonial_XBroken_X_N_1.png"]
        assert sorted(p.name for p in (out / "figures").glob("*_grid.png")) == [f"{g}_grid.png" for g in GOOD]
        assert len(list((out / "maps").glob("*.npy"))) == 3 * 6 and (out / "report.html").is_file()
    for name in (p.name for p in (serial / "maps").iterdir()):  # the saved arrays are equal too
        np.testing.assert_array_equal(np.load(serial / "maps" / name), np.load(piped / "maps" / name))
    for name in (p.name for p in (serial / "figures").iterdir()):  # the figures too, to the byte
        assert (serial / "figures" / name).read_bytes() == (piped / "figures" / name).read_bytes(), name
    plotted = sorted(p.name for p in (serial / "plots").iterdir())  # the run plots, drawn by the host processes
    assert "curves.png" in plotted and "box_PCC.png" in plotted
    assert sorted(p.name for p in (piped / "plots").iterdir()) == plotted
    for name in plotted:
        assert (serial / "plots" / name).read_bytes() == (piped / "plots" / name).read_bytes(), name
    assert host_clock.CLOCK.cpu["plots"] > 0
    assert (piped / "report.html").read_text().count("plots/") == (serial / "report.html").read_text().count("plots/")
    lime = [float(r["seconds"]) for r in tables.read_rows(piped / "results.csv") if r["method"] == "LIME"]
    assert all(s > 0 for s in lime)  # the segmentation made ahead is counted in LIME's seconds


def _kill_the_host_processes_after_the_first_image(monkeypatch):
    """image_stage.model_stage that SIGKILLs every host process when the second image reaches the model (the
    host work of the first one and the segmentations made ahead are then in flight); returns the list
    of the killed processes' ids."""
    import multiprocessing
    killed, calls, real = [], [], image_stage.model_stage

    def stage(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            for child in multiprocessing.active_children():
                os.kill(child.pid, signal.SIGKILL)
                killed.append(child.pid)
        return real(*args, **kwargs)
    monkeypatch.setattr(image_stage, "model_stage", stage)
    return killed


def test_failures_in_a_host_process_and_killed_host_processes(folders, monkeypatch, caplog, capsys):
    """An image whose host work fails (its figure cannot be written: a folder stands at its path) is
    reported and the others go on, as in a serial run; host processes killed during the run: their
    work is redone in the main process, with the same results; the progress bar reaches its end."""
    methods = ["--explanation_method", "GRADCAM,LIME", "--references", "none"]
    outs = {w: folders["root"] / w for w in ("serial", "piped", "killed")}
    for out in outs.values():
        (out / "figures" / f"{GOOD[1]}_grid.png").mkdir(parents=True)  # GOOD[1]'s figure cannot be saved
    assert main.main(_args(folders, outs["serial"], *methods, "--resume", "--host_workers", "0")) == exits.EXIT_PARTIAL
    argv = [a for a in _args(folders, outs["piped"], *methods, "--resume", "--host_workers", "2")
            if a != "--no_progress"]
    capsys.readouterr()
    assert main.main(argv) == exits.EXIT_PARTIAL
    assert "8/8" in capsys.readouterr().err  # 4 images x 2 methods, the failing ones included
    assert host_clock.CLOCK.pool_cpu > 0  # the figures were drawn in the host processes
    killed = _kill_the_host_processes_after_the_first_image(monkeypatch)
    with caplog.at_level("ERROR", logger="xai_mexculture"):
        assert main.main(_args(folders, outs["killed"], *methods, "--resume", "--host_workers", "2")) == exits.EXIT_PARTIAL
    assert len(killed) == 2 and "the host processes stopped" in caplog.text
    expected = _results(outs["serial"])
    assert list(dict.fromkeys(r["image"] for r in expected)) == [GOOD[0] + ".png", GOOD[2] + ".png"]
    for out in outs.values():
        assert _results(out) == expected, out.name
        errors = _errors(out)
        assert set(errors) == {"Colonial_XBroken_X_N_1.png", GOOD[1] + ".png"}, out.name
        same = [re.sub(r"tmp\d+", "tmpN", e[GOOD[1] + ".png"].replace(str(o), "OUT")) for o, e in
                ((out, errors), (outs["serial"], _errors(outs["serial"])))]
        assert same[0] == same[1] and same[0].startswith("IsADirectoryError"), out.name
        assert f"{GOOD[1]}_grid" in errors[GOOD[1] + ".png"]  # names the file
        assert sorted(p.name for p in (out / "figures").glob("*_grid.png") if p.is_file()) == \
            [f"{GOOD[0]}_grid.png", f"{GOOD[2]}_grid.png"]


def test_resume_with_the_pipeline_gives_the_numbers_of_one_run(folders, serial_rows):
    parts = folders["root"] / "parts"
    methods = ["--explanation_method", "GRADCAM,LIME", "--references", "none"]
    assert main.main(_args(folders, parts, *methods, "--n_images", "2")) == exits.EXIT_PARTIAL  # 1 good + broken
    assert len({r["image"] for r in _results(parts)}) == 1
    assert main.main(_args(folders, parts, *methods, "--resume", "--host_workers", "2")) == exits.EXIT_PARTIAL
    assert _results(parts) == serial_rows  # the numbers of one serial run of them all
    assert len(list((parts / "figures").glob("*_grid.png"))) == 3


def _on_model_stage(monkeypatch, act):
    """image_stage.model_stage that calls act(n) before its n-th image (1, 2, ...)."""
    calls, real = [], image_stage.model_stage

    def stage(*args, **kwargs):
        calls.append(1)
        act(len(calls))
        return real(*args, **kwargs)
    monkeypatch.setattr(image_stage, "model_stage", stage)


def _images_written(out):
    path = out / "results.csv"
    return list(dict.fromkeys(r["image"] for r in tables.read_rows(path))) if path.is_file() else []


def test_an_image_is_written_while_the_model_works_on_the_next(folders, monkeypatch):
    """The pipelined run appends an image's rows as soon as its host work is done, while the model
    stage of a later image runs (a run killed then, even with SIGKILL, keeps that image): the second
    model stage waits here until the first image is in results.csv."""
    out, seen = folders["root"] / "out", []

    def wait_for_the_first(n):
        if n == 2:
            deadline = time.monotonic() + 60
            while not _images_written(out) and time.monotonic() < deadline:
                time.sleep(0.05)
            seen.append(_images_written(out))
    _on_model_stage(monkeypatch, wait_for_the_first)
    assert main.main(_args(folders, out, "--explanation_method", "GRADCAM", "--references", "none",
                           "--host_workers", "2")) == exits.EXIT_PARTIAL
    assert seen == [[GOOD[0] + ".png"]]
    assert _images_written(out) == [g + ".png" for g in GOOD]


@pytest.mark.parametrize("how, workers", [("SIGINT", "2"), ("SIGTERM", "0")])
def test_an_interrupted_run_writes_its_finished_images_and_resume_finishes_it(folders, monkeypatch, capsys, how,
                                                                                 workers):
    """Ctrl-C (SIGINT) or SIGTERM during the third image's model stage: the run stops there with
    128 + the signal's number and says how to go on; the images before it are written (the first
    one, the broken second one reported); --resume then does the rest, each image once."""
    out = folders["root"] / "out"
    argv = _args(folders, out, "--explanation_method", "GRADCAM", "--host_workers", workers)
    before = signal.getsignal(signal.SIGTERM)

    def interrupt(n):
        if n == 3:
            if how == "SIGINT":
                raise KeyboardInterrupt
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(10)  # the handler raises in this (the main) thread
    _on_model_stage(monkeypatch, interrupt)
    capsys.readouterr()
    assert main.main(argv) == 128 + getattr(signal, how)
    err = capsys.readouterr().err
    assert f"interrupted ({how})" in err and "--resume" in err and "Traceback" not in err
    assert _images_written(out) == [GOOD[0] + ".png"]
    assert signal.getsignal(signal.SIGTERM) is before  # the run's SIGTERM handler is gone with it
    monkeypatch.undo()
    assert main.main(argv + ["--resume"]) == exits.EXIT_PARTIAL
    rows = tables.read_rows(out / "results.csv")
    assert _images_written(out) == [g + ".png" for g in GOOD]
    assert len(rows) == len({(r["image"], r["method"]) for r in rows}) == 3 * 3  # GRADCAM, CENTER, RANDOM
    assert len(list((out / "figures").glob("*_grid.png"))) == 3


@pytest.mark.parametrize("workers", ["0", "2"])
def test_figures_first_n_and_none(folders, workers):
    first, none = folders["root"] / "first", folders["root"] / "none"
    assert main.main(_args(folders, first, "--explanation_method", "GRADCAM", "--references", "none",
                           "--figures", "first:1", "--host_workers", workers)) == 3
    assert [p.name for p in (first / "figures").glob("*.png")] == [f"{GOOD[0]}_grid.png"]
    assert (first / "plots" / "box_PCC.png").is_file()
    page = (first / "report.html").read_text()
    assert f"figures/{GOOD[0]}_grid.png" in page and "without a per-image figure" in page
    assert main.main(_args(folders, none, "--explanation_method", "GRADCAM", "--references", "none",
                           "--figures", "none", "--host_workers", workers)) == 3
    assert not list((none / "figures").glob("*.png"))
    assert (none / "plots" / "box_PCC.png").is_file() and (none / "report.html").is_file()
    assert (none / "inputs" / f"{GOOD[0]}.png").is_file()  # report.py can still draw them
    assert rebuild.main([str(none), "--no_progress"]) == 0
    assert len(list((none / "figures").glob("*_grid.png"))) == 3


@pytest.mark.parametrize("flags, message", [
    (["--host_workers", "-1"], "--host_workers must be >= 0"),
    (["--figures", "first:0"], "expected all, none or first:N"),
    (["--figures", "some"], "expected all, none or first:N"),
])
def test_invalid_pipeline_flags(flags, message, capsys):
    with pytest.raises(SystemExit):
        options.parse_args(flags)
    assert message in capsys.readouterr().err


def test_flag_defaults():
    args = options.parse_args([])
    assert args.host_workers == host_clock.cores() >= 1 and args.figures == "all"
    assert options.parse_args(["--figures", "First:3"]).figures == "first:3"


def _exit_in_a_host_process(parent, value):
    if os.getpid() != parent:
        os._exit(1)  # the host process dies: the pool is broken
    return value, {"test": 0.0}


def test_a_broken_pool_is_replaced_by_the_main_process():
    pool = pipeline.HostPool(1)
    try:
        task = pool.submit(_exit_in_a_host_process, os.getpid(), 42)
        assert pool.result(task) == 42 and pool.broken  # redone here
        later = pool.submit(_exit_in_a_host_process, os.getpid(), 7)
        assert later.here and pool.result(later) == 7
    finally:
        pool.close()


def _state_of_this_process(_):
    """What a host process holds: its open files, whether a deep-learning framework is loaded."""
    import sys
    files = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            files.append(os.readlink(f"/proc/self/fd/{fd}"))
        except OSError:  # the listing's own descriptor, closed since
            pass
    loaded = sorted(m for m in ("keras", "tensorflow", "jax", "scipy.stats") if m in sys.modules)
    import cv2
    import threadpoolctl
    threads = [pool["num_threads"] for pool in threadpoolctl.threadpool_info()] + [cv2.getNumThreads()]
    return dict(files=files, loaded=loaded, threads=threads, policy=os.sched_getscheduler(0)), {}


def test_host_processes_are_spawned_without_the_lock_or_a_model(tmp_path, demo_model):
    """The main process holds the folder's lock and a model: a host process holds neither, not even
    after segmenting an image (it imports no Keras, and no scipy.stats: 0.8 s of its start). It runs
    in Linux's idle scheduling class (it takes no time slice from the model's threads)."""
    from xai_mexculture.core import runlock
    with runlock.RunLock(tmp_path):
        pool = pipeline.HostPool(1)
        try:
            assert pool._executor._mp_context.get_start_method() == "spawn"
            image = constants.DEMO_TEST_IMAGES / f"{GOOD[0]}.png"
            segments, seconds = pool.result(pool.submit(pipeline.segment_task, image, (64, 64), 0))
            assert segments.shape == (64, 64) and segments.max() > 0 and seconds > 0
            state = pool.result(pool.submit(_state_of_this_process, None))
        finally:
            pool.close()
    assert not pool.broken and state["loaded"] == []
    assert state["policy"] == os.SCHED_IDLE and os.sched_getscheduler(0) != os.SCHED_IDLE  # not the main process
    assert state["threads"] and set(state["threads"]) == {1}  # BLAS and OpenCV: one thread each
    assert not [f for f in state["files"] if f.endswith(runlock.LOCK_NAME)], state["files"]


def test_host_processes_compute_only_the_metrics_registered_there_alike():
    from xai_mexculture import metrics
    pool = pipeline.HostPool(1)
    try:
        extra = metrics.Metric("ONLY_HERE", True, ("gfdm",), metrics.per_map(lambda im, s: 0.0))
        metrics.register(extra)
        try:
            host = image_stage.host_metric_names()
            portable = pool.portable(host, ["CENTER", "RANDOM"])
        finally:
            metrics.unregister("ONLY_HERE")
        assert "ONLY_HERE" in host and "ONLY_HERE" not in portable
        assert {"PCC", "SIM", "KLD", "NSS", "AUC_Judd", "sAUC", "Sparseness", "NSS_loo"} <= set(portable)
        assert not {"Insertion", "Deletion", "MuFidelity", "MaxSensitivity"} & set(portable)
    finally:
        pool.close()


def test_given_segments_are_used_for_that_image_only(demo_model, demo_image):
    from xai_mexculture import explainers
    from xai_mexculture.explainers import lime_method
    img, cls = demo_image
    lime = explainers.build("LIME", demo_model, options={"lime_samples": 16})
    plain = lime.explain(img[None], [cls], ["a.png"])[0]
    lime.give_segments(img, "a.png", lime_method.segment(img, explainers.seed_for(lime.seed, "a.png")))
    np.testing.assert_array_equal(lime.explain(img[None], [cls], ["a.png"])[0], plain)
    one_superpixel = np.zeros(img.shape[:2], np.int64)
    lime.give_segments(img, "a.png", one_superpixel)
    assert lime.explain(img[None], [cls], ["a.png"])[0].std() == 0  # used: a map of one superpixel
    assert not lime._given  # once
    lime.give_segments(img, "a.png", one_superpixel)
    other = img.copy()
    other[0, 0, 0] += 1  # another image with the same key (e.g. MaxSensitivity's): segmented as usual
    assert lime.explain(other[None], [cls], ["a.png"])[0].std() > 0
    assert not lime._given


def test_the_figure_from_memory_equals_the_one_from_the_saved_files(tmp_path):
    rng = np.random.default_rng(0)
    name, rows_ = "Colonial_X_Y_N_1.png", []
    maps = {m: rng.random((32, 32)).astype(np.float32) for m in ("GRADCAM", "RISE", "CENTER")}
    curves = {"Insertion": {m: rng.random(9) for m in maps}, "Deletion": {m: rng.random(9) for m in maps}}
    for m in list(maps) + ["HUMAN"]:
        rows_.append(dict(image=name, method=m, true_class="Colonial", target_class="Colonial",
                          predicted_class="Modern", confidence="0.612345", seconds="0.1", deletion_baseline="black",
                          insertion_start="blur", p_full="0.3", p_start="0.1", p_end="0.05",
                          PCC=rng.uniform() / 3, Insertion=0.5))
    img = rng.uniform(0, 255, (32, 32, 3)).astype(np.float32)
    gfdm = rng.random((24, 40)).astype(np.float32)
    (tmp_path / "maps").mkdir()
    image_stage.save_arrays(tmp_path, name, maps, img, gfdm, curves)
    memory = figures.from_memory(name, img, gfdm, maps, curves, rows_)
    disk = figures.from_saved(tmp_path, name, tables.as_read(rows_))
    assert memory.name == disk.name and memory.info == disk.info and list(memory.maps) == list(disk.maps)
    np.testing.assert_array_equal(memory.img, disk.img)
    np.testing.assert_array_equal(memory.gfdm, disk.gfdm)
    assert memory.gfdm.dtype == disk.gfdm.dtype and memory.img.dtype == disk.img.dtype
    for m in maps:
        np.testing.assert_array_equal(memory.maps[m], disk.maps[m])
        for metric in curves:
            np.testing.assert_array_equal(memory.curves[metric][m], disk.curves[metric][m])
    assert repr(memory.values) == repr(disk.values)  # NaN where empty, alike


def test_a_script_without_a_main_guard_runs_once(folders, tmp_path):
    """Spawned processes run the parent's __main__ script again unless told otherwise: a script that
    calls main.main() at its top level must not start a run in each host process."""
    import subprocess
    import sys
    script = tmp_path / "unguarded.py"
    argv = _args(folders, tmp_path / "out", "--explanation_method", "GRADCAM,LIME", "--references", "none",
                 "--host_workers", "2", "--display_type", "none")  # the host processes segment for LIME
    script.write_text(f"import sys\nsys.path.insert(0, {str(constants.ROOT)!r})\nimport main\n"
                      f"print('run', main.main({argv!r}))\n")
    res = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=600,
                         env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))
    assert [line for line in res.stdout.splitlines() if line.startswith("run ")] == ["run 3"], res.stderr[-3000:]
    assert len({r["image"] for r in _results(tmp_path / "out")}) == 3


def test_the_model_stage_waits_for_the_host_processes_only_when_it_needs_them(folders, monkeypatch):
    """The first image's segmentation waits for a host process to start: Grad-CAM runs meanwhile; which
    metrics the host processes compute (their answer once started) is asked after the maps are made."""
    order, real_stage, real_explain, real_portable = [], image_stage.model_stage, image_stage.explain, pipeline.HostPool.portable

    def portable(self, *args):
        order.append("portable")
        return real_portable(self, *args)
    monkeypatch.setattr(pipeline.HostPool, "portable", portable)

    def stage(*args, segments=None, **kwargs):
        order.append("stage" if callable(segments) else "stage with segments")

        def waited():
            order.append("segments")
            return segments()
        return real_stage(*args, segments=waited if callable(segments) else segments, **kwargs)

    def explain(explainer, *args):
        order.append(explainer.name)
        return real_explain(explainer, *args)
    monkeypatch.setattr(image_stage, "model_stage", stage)
    monkeypatch.setattr(image_stage, "explain", explain)
    out = folders["root"] / "lazy"
    assert main.main(_args(folders, out, "--host_workers", "1", "--explanation_method", "GRADCAM,LIME",
                           "--references", "none", "--display_type", "none")) == exits.EXIT_PARTIAL
    assert order[:5] == ["stage", "GRADCAM", "segments", "LIME", "portable"]
    assert order.count("segments") == len(GOOD) and order.count("portable") == 1


def test_a_segmentation_no_host_process_has_started_is_made_by_the_model_stage(folders, monkeypatch, serial_rows):
    """The host processes run in the idle class: on a machine whose cores other work keeps busy they
    may not run for a long time. When LIME's turn comes and no host process has started the image's
    segmentation, the model stage makes it (the same numbers) instead of waiting for it."""
    import concurrent.futures
    real_submit, real_result = pipeline.HostPool.submit, pipeline.HostPool.result
    never_started = []

    def submit(self, fn, *args):
        if fn is pipeline.segment_task:  # queued behind work that never ends
            never_started.append(pipeline.Task(concurrent.futures.Future(), fn, args))
            return never_started[-1]
        return real_submit(self, fn, *args)

    def result(self, task):
        if task.fn is pipeline.segment_task:
            assert task.future.done() or task.future.running(), "waited for a segmentation no process has started"
        return real_result(self, task)
    monkeypatch.setattr(pipeline.HostPool, "submit", submit)
    monkeypatch.setattr(pipeline.HostPool, "result", result)
    idle = folders["root"] / "idle"
    methods = ["--explanation_method", "GRADCAM,LIME", "--references", "none", "--display_type", "none"]
    assert main.main(_args(folders, idle, "--host_workers", "1", *methods)) == exits.EXIT_PARTIAL
    assert len(never_started) == len(GOOD) + 1  # the unreadable image fails before LIME's turn
    assert sum(t.future.cancelled() for t in never_started) == len(GOOD)
    assert set(_errors(idle)) == {"Colonial_XBroken_X_N_1.png"}, _errors(idle)
    assert _results(idle) == serial_rows


def _print_and_register_a_teardown(text, path):
    import atexit
    atexit.register(lambda: open(path, "w").write("the interpreter's teardown ran"))
    print(text, end="")
    return None, {}


def test_a_host_process_exits_without_the_teardown_and_without_losing_its_output(capfd, tmp_path):
    """A host process skips the interpreter's teardown when the pool stops it (pipeline._leave: 0.2-0.4
    s that the run waited for): an exit handler registered in it does not run, what it printed still
    comes out, and it exits with status 0."""
    pool = pipeline.HostPool(1)
    try:
        pool.result(pool.submit(_print_and_register_a_teardown, "printed by a host process", tmp_path / "teardown"))
        processes = list(pool._executor._processes.values())
    finally:
        pool.close()
    assert not pool.broken and [p.exitcode for p in processes] == [0]
    assert "printed by a host process" in capfd.readouterr().out
    assert not (tmp_path / "teardown").exists()


def _nothing(_):
    return None, {}


def _refuse_to_load():
    raise RuntimeError("this argument cannot be read in a host process")


class _Unreadable:
    def __reduce__(self):
        return _refuse_to_load, ()


def test_a_host_process_ending_on_an_error_still_says_why(capfd):
    """A host process that fails outside a task (here: reading the task's arguments) ends the usual
    way, with the error printed, not silently through the quick exit (pipeline._leave)."""
    pool = pipeline.HostPool(1)
    try:
        assert pool.result(pool.submit(_nothing, "")) is None  # the process is up
        processes = list(pool._executor._processes.values())
        assert pool.result(pool.submit(_nothing, _Unreadable())) is None  # redone here
    finally:
        pool.close()
    assert pool.broken and processes[0].exitcode != 0
    assert "this argument cannot be read in a host process" in capfd.readouterr().err
