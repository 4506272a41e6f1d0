"""Bad inputs a researcher hits, each with a clear answer (issue 34, item 3): a usage error of one
line, an unwritable output folder, a GFDM of another aspect ratio than its image, ..."""
import subprocess
import sys
from pathlib import Path

import pytest

import constants

from xai_mexculture.cli import main
from xai_mexculture.run import exits
from xai_mexculture.run import options

ROOT = Path(__file__).resolve().parents[2]


def test_gfdm_spelling_of_the_gdfm_flag_is_the_same_flag(tmp_path, capsys):
    """--test_gfdm_folder_path (GFDM as everywhere else) was "unrecognized arguments"."""
    folder = tmp_path / "maps"
    folder.mkdir()
    args = options.parse_args(["--test_gfdm_folder_path", str(folder)])
    assert args.test_gdfm_folder_path == str(folder)
    assert options.parse_args(["--test_gdfm_folder_path", str(folder)]).test_gdfm_folder_path == str(folder)
    text = options.build_parser().format_help()
    assert "--test_gdfm_folder_path" in text and "--test_gfdm_folder_path" in text


@pytest.mark.parametrize("value", ["0", "-1", "nan"])
def test_fem_k_must_be_positive(value, capsys):
    """--fem_k 0 or -1 ran (every feature above its channel's mean, or all of them, kept)."""
    with pytest.raises(SystemExit) as stop:
        options.parse_args(["--fem_k", value])
    assert stop.value.code == 2
    assert "--fem_k" in capsys.readouterr().err
    assert options.parse_args(["--fem_k", "0.5"]).fem_k == 0.5


def test_fine_tuning_without_pretrained_weights_is_refused(tmp_path, capsys):
    """--weights none --fine_tune_epochs 1 trained --epochs and skipped the fine-tuning silently."""
    from xai_mexculture.cli import train
    (tmp_path / "imgs").mkdir()
    with pytest.raises(SystemExit) as stop:
        train.parse_args(["--train_dir", str(tmp_path / "imgs"), "--weights", "none", "--backbone", "tiny",
                          "--epochs", "1", "--fine_tune_epochs", "1"])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert "fine-tuning needs pretrained weights" in err and "trained from the start" in err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("script, argv, said", [
    ("main.py", ["--step", "0"], "--step must be >= 1"),
    ("main.py", ["--backend", "torch"], "invalid choice: 'torch'"),
    ("main.py", ["--no_such_flag"], "unrecognized arguments: --no_such_flag"),
    ("main.py", ["--output_dir", "README.md"], "--output_dir README.md: is a file, not a folder"),
    ("train.py", ["--train_dir", "/no/such/folder"], "--train_dir /no/such/folder: no such folder"),
    ("merge.py", ["a"], "the following arguments are required: --output_dir"),
    ("report.py", [], "the following arguments are required: out"),
])
def test_a_usage_error_is_one_line_and_a_pointer_to_help(script, argv, said):
    """argparse printed the whole usage first (about 40 lines for main.py) and the error last."""
    res = subprocess.run([sys.executable, script] + argv, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert res.returncode == 2, res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) <= 3, res.stderr
    assert said in res.stderr and f"python {script} --help" in res.stderr, res.stderr
    assert res.stderr.startswith(f"{script}: error: ")


@pytest.fixture()
def read_only(tmp_path, monkeypatch):
    """A folder on a "read-only file system": creating a file in it fails with EROFS, as on a
    read-only mount. Simulated (the tests run as root, whom chmod 555 does not stop, and a read-only
    bind mount needs privileges a test should not need): os.open with O_CREAT of a path in it raises
    the error the kernel gives there; every other call goes through."""
    import errno
    import os
    folder = tmp_path / "read_only"
    folder.mkdir()
    real = os.open

    def fake_open(path, flags, *args, **kwargs):
        if flags & os.O_CREAT and Path(path).parent == folder:
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(path))
        return real(path, flags, *args, **kwargs)
    monkeypatch.setattr(os, "open", fake_open)
    return folder


def test_an_output_folder_that_cannot_be_written_is_a_usage_error(read_only, tmp_path, capsys):
    """It was `OSError: [Errno 30] Read-only file system: '.../.lock'`, a traceback and exit 1."""
    assert main.main(["--n_images", "1", "--output_dir", str(read_only)]) == 2
    err = capsys.readouterr().err
    assert f"--output_dir {read_only}: cannot be written (Read-only file system)" in err, err
    # a real folder that root cannot write in either: /proc/self exists, but no file can be made there
    assert main.main(["--n_images", "1", "--output_dir", "/proc/self"]) == 2
    assert "--output_dir /proc/self: cannot be written" in capsys.readouterr().err
    from xai_mexculture.run import merge
    shard = tmp_path / "shard"
    shard.mkdir()
    assert merge.main([str(shard), "--output_dir", str(read_only)]) == 2
    assert f"--output_dir {read_only}: cannot be written (Read-only file system)" in capsys.readouterr().err
    from xai_mexculture.render import rebuild
    (read_only / "results.csv").write_text("")  # written before the folder "became" read-only
    assert rebuild.main([str(read_only), "--no_progress"]) == 2
    assert f"{read_only}: cannot be written (Read-only file system)" in capsys.readouterr().err


def test_a_gfdm_of_another_aspect_ratio_is_refused_for_its_image(tmp_path, capsys):
    """A 50 x 120 GFDM for a 320 x 240 image was resized to the maps' grid and scored (exit 0); a
    GFDM at half size (the same aspect ratio) still works, and the run goes on with that image."""
    import csv

    import cv2

    from xai_mexculture.results import tables
    imgs, gfdms, out = tmp_path / "images", tmp_path / "gfdm", tmp_path / "out"
    imgs.mkdir()
    gfdms.mkdir()
    sizes = {"Colonial_DemoTest001_Synthetic": (50, 120), "Prehispanic_DemoTest002_Synthetic": (160, 120)}
    for stem, (gw, gh) in sizes.items():
        img = cv2.imread(str(constants.DEMO_TEST_IMAGES / f"{stem}_N_1.png"), cv2.IMREAD_UNCHANGED)
        cv2.imwrite(str(imgs / f"{stem}_N_1.png"), cv2.resize(img, (320, 240), interpolation=cv2.INTER_AREA))
        gfdm = cv2.imread(str(constants.DEMO_TEST_GFDM / f"{stem}_GFDM_N_1.png"), cv2.IMREAD_UNCHANGED)
        cv2.imwrite(str(gfdms / f"{stem}_GFDM_N_1.png"), cv2.resize(gfdm, (gw, gh), interpolation=cv2.INTER_AREA))
    status = main.main(["--test_images_folder_path", str(imgs), "--test_gfdm_folder_path", str(gfdms),
                        "--output_dir", str(out), "--explanation_method", "GRADCAM", "--display_type", "none",
                        "--no_progress", "--references", "none", "--step", "2000", "--host_workers", "0"])
    assert status == exits.EXIT_PARTIAL
    with (out / "errors.csv").open() as fh:
        errors = {r["image"]: r["reason"] for r in csv.DictReader(fh)}
    reason = errors.pop("Colonial_DemoTest001_Synthetic_N_1.png")
    assert not errors
    assert reason.startswith(str(gfdms / "Colonial_DemoTest001_Synthetic_GFDM_N_1.png")), reason
    assert "is 50 x 120 pixels" in reason and "Colonial_DemoTest001_Synthetic_N_1.png is 320 x 240" in reason
    assert "aspect ratio" in reason
    rows = tables.read_rows(out / "results.csv")
    assert [r["image"] for r in rows] == ["Prehispanic_DemoTest002_Synthetic_N_1.png"]  # the half-size GFDM
    assert all(rows[0][m] == rows[0][m] for m in ("PCC", "SIM", "KLD"))  # scored (not NaN)


def _photo_figure(name, image_shape, seed=0):
    """The figure data of a photograph of `image_shape` (H, W): the input and the maps at the model's
    square input, the GFDM at the photograph's own size."""
    import fake_run
    return fake_run.figure_data(name, ("GRADCAM", "CENTER"), image_shape, seed)


def _image_panel_aspects(fig):
    """(extent's height / width, drawn box's height / width) of every image panel of a figure."""
    from matplotlib.image import AxesImage
    fig.draw_without_rendering()  # lays the axes out (their aspect applied), as saving does
    out = []
    for ax in fig.axes:
        for image in (a for a in ax.get_children() if isinstance(a, AxesImage)):
            left, right, bottom, top = image.get_extent()
            box = ax.get_window_extent()
            out.append((abs(bottom - top) / abs(right - left), box.height / box.width))
    return out


@pytest.mark.parametrize("shape", [(240, 320), (400, 300)])
def test_image_panels_keep_the_original_aspect_ratio(shape):
    """The model's 224 x 224 input of a 4:3 photograph was drawn square (squashed): the input, the GFDM,
    the maps and the overlays are drawn at the photograph's height / width, in the grid and the singles."""
    from xai_mexculture.render import figures
    from xai_mexculture.render import style
    f = _photo_figure("Colonial_X_Y_N_1.png", shape)
    want = shape[0] / shape[1]
    with style.rc():
        aspects = _image_panel_aspects(figures.grid_figure(f))
        assert len(aspects) == 2 + 2 * 2  # input, GFDM; map and overlay per row
        for extent, box in aspects:
            assert extent == pytest.approx(want, rel=0.02) and box == pytest.approx(want, rel=0.02), aspects
        singles = dict(figures.single_figures(f))
        for stem in ("input", "gfdm", "GRADCAM_map", "GRADCAM_overlay"):
            [(extent, box)] = _image_panel_aspects(singles[stem])
            assert extent == pytest.approx(want, rel=0.02) and box == pytest.approx(want, rel=0.02), stem
        for fig in singles.values():
            style.close(fig, False)


def test_the_shared_grid_redrawn_for_another_aspect_ratio_is_the_figure_of_its_own(tmp_path):
    """The grid figure is shared by the images of one layout: a 4:3 image after a square one is drawn
    as a figure made for it alone draws it."""
    from PIL import Image
    import numpy as np

    from xai_mexculture.render import figures
    from xai_mexculture.render import style
    square, wide = _photo_figure("Colonial_A_N_1.png", (300, 300)), _photo_figure("Modern_B_N_1.png", (240, 320), 1)
    figures.save_image_figures(square, tmp_path / "shared", "grid", "png")
    [shared] = figures.save_image_figures(wide, tmp_path / "shared", "grid", "png")
    with style.rc():
        alone = style.save(figures.grid_figure(wide), tmp_path / "alone_grid", "png")
    with Image.open(shared) as a, Image.open(alone) as b:
        assert np.array_equal(np.asarray(a), np.asarray(b))


def test_the_page_says_what_confidence_and_p_full_are():
    """report.html's per-image table had the columns confidence and p_full side by side with no word
    on which class each is the probability of."""
    from xai_mexculture.render import html_report
    rows = [dict(image="Colonial_A_N_1.png", method="GRADCAM", true_class="Colonial", target_class="Colonial",
                 predicted_class="Modern", confidence=0.7, p_full=0.2, p_start=0.1, p_end=0.3, seconds=0.5)]
    text = " ".join(html_report.images_section(rows, {}).split())
    assert "<b>confidence</b>: the model's probability of the <i>predicted</i> class on the full image" in text
    assert "<b>p_full</b>: its probability of the <i>explained</i> class" in text
    doc = " ".join((ROOT / "docs" / "reading-a-run.md").read_text().split())  # the file table of a run
    assert "`confidence` (the model's probability of the predicted class on the full image)" in doc
    assert "`p_full` (the probability of the explained class on the full image" in doc


GAZE_RUN = ["--explanation_method", "GRADCAM", "--references", "none", "--step", "2000", "--no_progress",
            "--host_workers", "0", "--display_type", "none"]
OUTSIDE = "# x y duration_ms\n-30 100 200\n400.5 50 300\n120 -12 250\n"  # left, right of and above 320 x 240


@pytest.fixture(scope="module")
def outside_run(tmp_path_factory):
    """One run on demo images whose fixation files have fixations outside the 320 x 240 image:
    SOME (3 added to the demo file) beside CLEAN (the same image and file without them), ALL (every
    fixation outside, the GFDM file present) and NOGFDM (every fixation outside, no GFDM file)."""
    import csv
    root = tmp_path_factory.mktemp("outside")
    imgs, gfdms, fixs, out = (root / d for d in ("images", "gfdm", "fix", "out"))
    for d in (imgs, gfdms, fixs):
        d.mkdir()
    src = {"Colonial_DemoSome_X_N_1": "Colonial_DemoTest001_Synthetic", "Colonial_DemoClean_X_N_1":
           "Colonial_DemoTest001_Synthetic", "Prehispanic_DemoAll_X_N_1": "Prehispanic_DemoTest002_Synthetic",
           "Modern_DemoNoGfdm_X_N_1": "Modern_DemoTest001_Synthetic"}
    for stem, demo in src.items():
        base = stem[:-len("_N_1")]
        (imgs / f"{stem}.png").write_bytes((constants.DEMO_TEST_IMAGES / f"{demo}_N_1.png").read_bytes())
        if "NoGfdm" not in stem:
            (gfdms / f"{base}_GFDM_N_1.png").write_bytes(
                (constants.DEMO_TEST_GFDM / f"{demo}_GFDM_N_1.png").read_bytes())
        text = (constants.DEMO_TEST_FIXATIONS / f"{demo}_GazeFix_N_1.txt").read_text()
        if "Some" in stem:
            lines = text.splitlines(keepends=True)
            text = "".join(lines[:5]) + OUTSIDE.split("\n", 1)[1] + "".join(lines[5:])
        elif "All" in stem or "NoGfdm" in stem:
            text = OUTSIDE
        (fixs / f"{base}_GazeFix_N_1.txt").write_text(text)
    import logging
    warned = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = lambda record: warned.append(record.getMessage())
    logging.getLogger("xai_mexculture").addHandler(handler)
    try:
        status = main.main(["--test_images_folder_path", str(imgs), "--test_gfdm_folder_path", str(gfdms),
                            "--fixations_folder_path", str(fixs), "--output_dir", str(out)] + GAZE_RUN)
    finally:
        logging.getLogger("xai_mexculture").removeHandler(handler)
    from xai_mexculture.results import tables
    with (out / "errors.csv").open() as fh:
        errors = {r["image"]: r["reason"] for r in csv.DictReader(fh)}
    rows = {r["image"]: r for r in tables.read_rows(out / "results.csv")}
    n_some = len(data_lines(fixs / "Colonial_DemoSome_X_GazeFix_N_1.txt"))
    return dict(status=status, errors=errors, rows=rows, fixs=fixs, n_some=n_some, warned=warned)


def data_lines(path):
    return [line for line in Path(path).read_text().splitlines() if line.strip() and not line.startswith("#")]


def test_fixations_outside_the_image_are_counted_named_and_left_out(outside_run):
    """Fixations outside the image were dropped without a word (NSS, AUC-Judd) or moved to its border
    (sAUC's negatives): they are counted per file in the note of the image's rows, and its metrics are
    those of the same file with them deleted by hand."""
    rows = outside_run["rows"]
    some, clean = rows["Colonial_DemoSome_X_N_1.png"], rows["Colonial_DemoClean_X_N_1.png"]
    assert f"Colonial_DemoSome_X_GazeFix_N_1.txt: 3 of {outside_run['n_some']} fixations lie outside the " \
           f"320 x 240 image; left out" in some["note"], some["note"]
    assert "GazeFix" not in clean["note"]
    said = [m for m in outside_run["warned"] if "Colonial_DemoSome_X_GazeFix_N_1.txt" in m]
    assert said == [f"{outside_run['fixs'] / 'Colonial_DemoSome_X_GazeFix_N_1.txt'}: 3 of {outside_run['n_some']} "
                    f"fixations lie outside the 320 x 240 image; left out"], outside_run["warned"]
    for metric in ("PCC", "SIM", "KLD", "NSS", "AUC_Judd", "sAUC", "Insertion", "Deletion", "Sparseness"):
        assert some[metric] == pytest.approx(clean[metric], rel=1e-9, abs=1e-12), metric


def test_an_image_with_every_fixation_outside_keeps_its_other_metrics(outside_run):
    """It was skipped ("no fixation inside the map", no file named) and lost PCC, SIM, insertion and
    deletion although its GFDM exists; without a GFDM file it stays an error, naming the file."""
    import math
    rows, errors = outside_run["rows"], outside_run["errors"]
    assert outside_run["status"] == exits.EXIT_PARTIAL
    assert set(errors) == {"Modern_DemoNoGfdm_X_N_1.png"}, errors
    reason = errors["Modern_DemoNoGfdm_X_N_1.png"]
    assert str(outside_run["fixs"] / "Modern_DemoNoGfdm_X_GazeFix_N_1.txt") in reason, reason
    assert "3 of 3 fixations lie outside the 320 x 240 image" in reason, reason
    row = rows["Prehispanic_DemoAll_X_N_1.png"]
    for metric in ("PCC", "SIM", "KLD", "Insertion", "Deletion", "MuFidelity", "Sparseness"):
        assert math.isfinite(row[metric]), metric
    for metric in ("NSS", "AUC_Judd", "sAUC"):
        assert math.isnan(row[metric]), metric
    assert ("Prehispanic_DemoAll_X_GazeFix_N_1.txt: 3 of 3 fixations lie outside the 320 x 240 image; left out; "
            "no fixation inside the image: NSS, AUC_Judd, sAUC left empty") in row["note"], row["note"]


def test_a_fixation_is_inside_when_its_nearest_pixel_is():
    """The border: a fixation is inside the image when its rounded pixel is one of the image's (as the
    fixation map marks it); the GFDM built from fixations uses exactly those (it dropped x in
    [-0.5, 0) and (W - 1, W - 0.5), which the fixation map kept)."""
    import numpy as np

    from xai_mexculture.core import data
    pts = np.array([[-0.4, 3], [-0.6, 3], [9.4, 3], [9.6, 3], [4, -0.4], [4, 5.6], [4, 5.4]])
    inside = data.inside_image(pts, (6, 10))
    assert inside.tolist() == [True, False, True, False, True, False, True]
    assert data.fixation_map(pts, (6, 10)).sum() == 4
    np.testing.assert_array_equal(data.gfdm_from_fixations(pts, (6, 10), 2.0),
                                  data.gfdm_from_fixations(pts[inside], (6, 10), 2.0))
    assert data.gfdm_from_fixations(pts[[0]], (6, 10), 2.0).max() == 1.0
