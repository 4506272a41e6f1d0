"""Runs that cannot corrupt their results: one run per folder, new dated folders, exit statuses,
model problems found up front, crash safety (SIGKILL then --resume), and a load test."""
import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import keras
import numpy as np
import pytest
from keras import layers

from xai_mexculture.cli import main
from xai_mexculture.core import runlock
from xai_mexculture.results import tables
from xai_mexculture.run import options

ROOT = Path(__file__).resolve().parents[2]
SIZE = 32
FAST = ["--step", "256", "--no_progress", "--display_type", "none", "--references", "none"]


def tiny_model(path, n_classes=3, conv=True, lam=False):
    """A small seeded classifier on 32 x 32 images, saved as .keras."""
    keras.utils.set_random_seed(5)
    inp = keras.Input((SIZE, SIZE, 3))
    x = layers.Rescaling(1 / 255.0)(inp)
    if lam:
        x = layers.Lambda(lambda t: t * 1.0)(x)
    if conv:
        x = layers.Conv2D(4, 3, strides=4, activation="relu", name="conv")(x)
        x = layers.GlobalAveragePooling2D()(x)
    else:
        x = layers.Flatten()(x)
    out = layers.Dense(n_classes, activation="softmax")(x)
    keras.Model(inp, out).save(path)
    return path


def make_folder(root, n, classes=("Colonial", "Modern", "Prehispanic"), size=48, seed=0):
    """n images (named by class in turn) with their GFDMs."""
    rng = np.random.default_rng(seed)
    imgs, gfdms = root / "images", root / "gfdm"
    imgs.mkdir(parents=True)
    gfdms.mkdir()
    names = []
    for i in range(n):
        stem = f"{classes[i % len(classes)]}_Img{i:03d}_X"
        cv2.imwrite(str(imgs / f"{stem}_N_1.png"), rng.integers(0, 256, (size, size, 3), dtype=np.uint8))
        g = np.zeros((size, size), np.uint8)
        g[rng.integers(0, size), rng.integers(0, size)] = 255
        blurred = cv2.GaussianBlur(g, (0, 0), 5).astype(np.float64) * 40
        cv2.imwrite(str(gfdms / f"{stem}_GFDM_N_1.png"), np.clip(blurred, 0, 255).astype(np.uint8))
        names.append(f"{stem}_N_1.png")
    return imgs, gfdms, names


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    root = tmp_path_factory.mktemp("small")
    imgs, gfdms, names = make_folder(root, 4)
    model = tiny_model(root / "tiny.keras")
    return dict(root=root, imgs=imgs, gfdms=gfdms, names=names, model=model)


def _args(s, out, *extra):
    args = ["--test_images_folder_path", str(s["imgs"]), "--test_gdfm_folder_path", str(s["gfdms"]),
            "--model_path", str(s["model"]), "--explanation_method", "GRADCAM"] + FAST
    return args + (["--output_dir", str(out)] if out is not None else []) + list(extra)


def _rows(out):
    return tables.read_rows(Path(out) / "results.csv")


def _errors(out):
    with (Path(out) / "errors.csv").open() as f:
        return {r["image"]: r["reason"] for r in csv.DictReader(f)}


def test_a_second_run_into_a_locked_folder_stops(small, tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    holder = subprocess.Popen([sys.executable, "-c", f"import sys; sys.path.insert(0, {str(ROOT)!r}); import time; "
                               f"from xai_mexculture.core import runlock; runlock.RunLock({str(out)!r}).acquire(); print('locked', flush=True); "
                               f"time.sleep(60)"], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        assert main.main(_args(small, out)) == 2
        err = capsys.readouterr().err
        assert str(out) in err and f"process {holder.pid}" in err
    finally:
        holder.kill()
        holder.wait()
    assert main.main(_args(small, out)) == 0  # the lock went with the process


def test_the_lock_is_not_inherited(tmp_path):
    lock = runlock.RunLock(tmp_path).acquire()
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"], close_fds=False)
    try:
        lock.release()
        runlock.RunLock(tmp_path).acquire().release()  # the child does not hold it
        with runlock.RunLock(tmp_path):
            with pytest.raises(runlock.FolderLocked, match=f"process {os.getpid()}"):
                runlock.RunLock(tmp_path).acquire()
    finally:
        child.kill()
        child.wait()


def test_default_output_is_a_new_dated_folder(small, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main.main(_args(small, None)) == 0
    time.sleep(1.1)
    assert main.main(_args(small, None)) == 0
    runs = sorted(p.name for p in (tmp_path / "outputs").glob("run-*"))
    assert len(runs) == 2 and all(len(_rows(tmp_path / "outputs" / r)) == 4 for r in runs)
    assert os.readlink(tmp_path / "outputs" / "latest") == runs[-1]


def test_a_non_empty_folder_needs_resume_or_overwrite(small, tmp_path, capsys):
    out = tmp_path / "out"
    assert main.main(_args(small, out)) == 0
    (out / "maps" / "stale_GRADCAM.npy").write_bytes(b"old")
    stale = [out / "inputs" / "stale.png", out / "gfdm" / "stale.png", out / "curves" / "stale.npz",
             out / "plots" / "box_Stale.png"]
    (out / "plots").mkdir()
    for path in stale:
        path.write_bytes(b"old")
    (out / "notes.txt").write_text("mine")
    assert main.main(_args(small, out)) == 2
    assert "not empty" in capsys.readouterr().err
    assert main.main(_args(small, out, "--overwrite")) == 0
    assert not (out / "maps" / "stale_GRADCAM.npy").exists() and (out / "notes.txt").read_text() == "mine"
    assert not any(path.exists() for path in stale) and (out / "report.html").is_file()
    assert len(_rows(out)) == 4
    file_path = tmp_path / "a_file"
    file_path.write_text("x")
    with pytest.raises(SystemExit) as exit_info:
        main.main(_args(small, file_path))
    assert exit_info.value.code == 2 and "is a file" in capsys.readouterr().err


def test_exit_statuses(small, tmp_path, monkeypatch, capsys):
    empty_gfdm = tmp_path / "nogfdm"
    empty_gfdm.mkdir()
    args = _args(small, tmp_path / "none")
    args[args.index("--test_gdfm_folder_path") + 1] = str(empty_gfdm)
    assert main.main(args) == 1
    assert "no image completed" in capsys.readouterr().err
    assert len(_errors(tmp_path / "none")) == 4
    monkeypatch.setattr(tables, "summarise", lambda *a, **k: 1 / 0)
    assert main.main(_args(small, tmp_path / "crash")) == 4
    assert "ZeroDivisionError" in (tmp_path / "crash" / "crash.log").read_text()
    assert "crash.log" in capsys.readouterr().err


def test_model_problems_are_found_before_the_first_image(small, tmp_path, capsys):
    ten = tiny_model(tmp_path / "ten.keras", n_classes=10)
    args = _args(small, tmp_path / "o1")
    args[args.index("--model_path") + 1] = str(ten)
    assert main.main(args) == 2
    err = capsys.readouterr().err
    assert "10 classes but 3 class names" in err and "--class_names" in err
    assert not (tmp_path / "o1" / "maps").exists()
    names = ",".join(["Colonial", "Modern", "Prehispanic"] + [f"Extra{i}" for i in range(7)])
    assert main.main(args + ["--class_names", names]) == 0
    assert {r["target_class"] for r in _rows(tmp_path / "o1")} == {"Colonial", "Modern", "Prehispanic"}

    flat = tiny_model(tmp_path / "flat.keras", conv=False)
    args = _args(small, tmp_path / "o2", "--explanation_method", "GRADCAM,RISE", "--rise_masks", "16")
    args[args.index("--model_path") + 1] = str(flat)
    assert main.main(args) == 3
    errors = _errors(tmp_path / "o2")
    assert list(errors) == ["(every image)"] and "GRADCAM cannot be used" in errors["(every image)"]
    assert {r["method"] for r in _rows(tmp_path / "o2")} == {"RISE"} and len(_rows(tmp_path / "o2")) == 4
    args = _args(small, tmp_path / "o3")
    args[args.index("--model_path") + 1] = str(flat)
    assert main.main(args) == 1  # GRADCAM alone on a model without conv layers: nothing can be done
    assert "no conv layer" in _errors(tmp_path / "o3")["(every image)"]


def test_clear_messages_for_bad_model_files_and_tiny_images(small, tmp_path, capsys):
    text = tmp_path / "model.keras"
    text.write_text("hello")
    args = _args(small, tmp_path / "o1")
    args[args.index("--model_path") + 1] = str(text)
    assert main.main(args) == 2
    assert "model.keras: not a Keras archive (a .keras file is a zip archive); it is a text file" in \
        capsys.readouterr().err
    lam = tiny_model(tmp_path / "lam.keras", lam=True)
    args[args.index("--model_path") + 1] = str(lam)
    assert main.main(args) == 2
    err = capsys.readouterr().err
    assert "safe mode" in err and "--trust_model (runs code stored in the model file)" in err
    assert main.main(args + ["--trust_model", "--overwrite"]) == 0
    cv2.imwrite(str(small["imgs"].parent / "tiny_src.png"), np.zeros((4, 4, 3), np.uint8))
    tiny = tmp_path / "tiny"
    tiny.mkdir()
    os.replace(small["imgs"].parent / "tiny_src.png", tiny / "Modern_Tiny_X_N_1.png")
    cv2.imwrite(str(tiny / "Colonial_Big_X_N_1.png"), np.full((40, 40, 3), 90, np.uint8))
    args = _args(small, tmp_path / "o3")
    args[args.index("--test_images_folder_path") + 1] = str(tiny)
    args[args.index("--test_gdfm_folder_path") + 1] = str(small["gfdms"])
    assert main.main(args) == 1  # Big has no GFDM, Tiny is too small
    errors = _errors(tmp_path / "o3")
    assert "4 x 4 pixels, smaller than the model's 8 x 8 conv grid" in errors["Modern_Tiny_X_N_1.png"]


def test_every_flag_has_help_with_its_default_once():
    text = options.build_parser().format_help()
    for action in options.build_parser()._actions:
        assert action.help, action.option_strings
    for block in text.split("\n  -")[1:]:
        assert block.count("(default") <= 1, block


def test_an_empty_image_folder_stops_before_anything_is_written(small, tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    args = _args(small, tmp_path / "out")
    args[args.index("--test_images_folder_path") + 1] = str(empty)
    assert main.main(args) == 2
    assert "no images in" in capsys.readouterr().err and not (tmp_path / "out").exists()


def test_the_readme_is_self_contained():
    for path in [ROOT / "README.md"] + sorted((ROOT / "docs").glob("*.md")):
        text = path.read_text()
        assert "shared/" not in text and "DESIGN.md" not in text, path.name


def _metrics(rows):
    keep = [k for k in rows[0] if k not in ("seconds",)]
    return sorted(tuple(r[k] for k in keep) for r in rows)


def _start(args):
    return subprocess.Popen([sys.executable, "main.py"] + args, cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)


def _kill_when(proc, out, n_rows, timeout=120):
    """SIGKILL `proc` once results.csv has at least n_rows rows (None: once the manifest is written,
    before the first image)."""
    deadline = time.time() + timeout
    results, manifest = Path(out) / "results.csv", Path(out) / "manifest.json"
    while time.time() < deadline and proc.poll() is None:
        if n_rows is None and manifest.exists():
            break
        if n_rows is not None and results.exists() and results.read_text().count("\n") - 1 >= n_rows:
            break
        time.sleep(0.005)
    assert proc.poll() is None, "the run ended before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()


def test_killed_runs_resume_to_the_same_numbers(tmp_path):
    imgs, gfdms, names = make_folder(tmp_path, 30, seed=2)
    model = tiny_model(tmp_path / "m.keras")
    s = dict(imgs=imgs, gfdms=gfdms, model=model)
    reference = tmp_path / "reference"
    # the uninterrupted run in this process (the killed ones need processes of their own)
    assert main.main(_args(s, reference, "--explanation_method", "GRADCAM,RISE", "--rise_masks", "16")) == 0
    out = tmp_path / "killed"
    base = _args(s, out, "--explanation_method", "GRADCAM,RISE", "--rise_masks", "16")
    for moment in (None, 6, 30):  # killed before the first image, after 3 images, after 15
        _kill_when(_start(base + (["--resume"] if out.exists() else [])), out, moment)
    assert main.main(base + ["--resume"]) == 0  # the rest, in this process
    rows = _rows(out)
    assert sorted((r["image"], r["method"]) for r in rows) == sorted((n, m) for n in names for m in ("GRADCAM", "RISE"))
    assert _metrics(rows) == _metrics(_rows(reference))
    assert json.loads((out / "manifest.json").read_text())["n_images"] == 30
    assert not list(out.rglob(".*.tmp*"))


def test_load_200_images_with_broken_ones_kills_and_concurrent_runs(tmp_path):
    imgs, gfdms, names = make_folder(tmp_path, 190, size=40, seed=3)
    broken = {
        "Colonial_Corrupt_X_N_1.png": lambda p: p.write_bytes(b"\x89PNG\r\n\x1a\n not really"),
        "Colonial_Empty_X_N_1.png": lambda p: p.write_bytes(b""),
        "Modern_Text_X_N_1.png": lambda p: p.write_text("a text file"),
        "Modern_Truncated_X_N_1.png": lambda p: p.write_bytes((imgs / names[0]).read_bytes()[:60]),
        "Prehispanic_NoGaze_X_N_1.png": lambda p: p.write_bytes((imgs / names[1]).read_bytes()),
        "Gothic_Unknown_X_N_1.png": lambda p: p.write_bytes((imgs / names[2]).read_bytes()),
        "Modern_Tiny_X_N_1.png": lambda p: cv2.imwrite(str(p), np.zeros((3, 3, 3), np.uint8)),
        "Colonial_BadGaze_X_N_1.png": lambda p: p.write_bytes((imgs / names[3]).read_bytes()),
        "Modern_EmptyGaze_X_N_1.png": lambda p: p.write_bytes((imgs / names[4]).read_bytes()),
        "Prehispanic_Jpeg_X_N_1.jpg": lambda p: p.write_bytes(b"\xff\xd8\xff garbage"),
    }
    for name, make in broken.items():
        make(imgs / name)
        gfdm = gfdms / name.replace("_N_1", "_GFDM_N_1").replace(".jpg", ".png")
        if "NoGaze" not in name:
            gfdm.write_bytes((gfdms / names[0].replace("_N_1", "_GFDM_N_1")).read_bytes())
    (gfdms / "Colonial_BadGaze_X_GFDM_N_1.png").write_bytes(b"broken")
    (gfdms / "Modern_EmptyGaze_X_GFDM_N_1.png").write_bytes(b"")
    model = tiny_model(tmp_path / "m.keras")
    s = dict(imgs=imgs, gfdms=gfdms, model=model)
    a, b = tmp_path / "a", tmp_path / "b"
    _kill_when(_start(_args(s, a)), a, 40)
    runs = [_start(_args(s, a, "--resume")), _start(_args(s, b))]
    for proc in runs:
        proc.wait(timeout=600)
        assert proc.returncode == 3, proc.stderr.read()[-2000:]
    for out in (a, b):
        rows = _rows(out)
        assert sorted(r["image"] for r in rows) == sorted(names)  # nothing lost, nothing twice
        assert set(_errors(out)) == set(broken)
    assert _metrics(_rows(a)) == _metrics(_rows(b))
