"""Bad inputs a researcher hits, each with a clear answer (issue 34, item 3): a usage error of one
line, an unwritable output folder, a GFDM of another aspect ratio than its image, ..."""
import subprocess
import sys
from pathlib import Path

import pytest

import constants
import main

ROOT = Path(__file__).resolve().parents[1]


def test_gfdm_spelling_of_the_gdfm_flag_is_the_same_flag(tmp_path, capsys):
    """--test_gfdm_folder_path (GFDM as everywhere else) was "unrecognized arguments"."""
    folder = tmp_path / "maps"
    folder.mkdir()
    args = main.parse_args(["--test_gfdm_folder_path", str(folder)])
    assert args.test_gdfm_folder_path == str(folder)
    assert main.parse_args(["--test_gdfm_folder_path", str(folder)]).test_gdfm_folder_path == str(folder)
    text = main.build_parser().format_help()
    assert "--test_gdfm_folder_path" in text and "--test_gfdm_folder_path" in text


@pytest.mark.parametrize("value", ["0", "-1", "nan"])
def test_fem_k_must_be_positive(value, capsys):
    """--fem_k 0 or -1 ran (every feature above its channel's mean, or all of them, kept)."""
    with pytest.raises(SystemExit) as stop:
        main.parse_args(["--fem_k", value])
    assert stop.value.code == 2
    assert "--fem_k" in capsys.readouterr().err
    assert main.parse_args(["--fem_k", "0.5"]).fem_k == 0.5


def test_fine_tuning_without_pretrained_weights_is_refused(tmp_path, capsys):
    """--weights none --fine_tune_epochs 1 trained --epochs and skipped the fine-tuning silently."""
    import train
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
    import merge
    shard = tmp_path / "shard"
    shard.mkdir()
    assert merge.main([str(shard), "--output_dir", str(read_only)]) == 2
    assert f"--output_dir {read_only}: cannot be written (Read-only file system)" in capsys.readouterr().err
    import report
    (read_only / "results.csv").write_text("")  # written before the folder "became" read-only
    assert report.main([str(read_only), "--no_progress"]) == 2
    assert f"{read_only}: cannot be written (Read-only file system)" in capsys.readouterr().err


def test_a_gfdm_of_another_aspect_ratio_is_refused_for_its_image(tmp_path, capsys):
    """A 50 x 120 GFDM for a 320 x 240 image was resized to the maps' grid and scored (exit 0); a
    GFDM at half size (the same aspect ratio) still works, and the run goes on with that image."""
    import csv

    import cv2

    import report
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
    assert status == main.EXIT_PARTIAL
    with (out / "errors.csv").open() as fh:
        errors = {r["image"]: r["reason"] for r in csv.DictReader(fh)}
    reason = errors.pop("Colonial_DemoTest001_Synthetic_N_1.png")
    assert not errors
    assert reason.startswith(str(gfdms / "Colonial_DemoTest001_Synthetic_GFDM_N_1.png")), reason
    assert "is 50 x 120 pixels" in reason and "Colonial_DemoTest001_Synthetic_N_1.png is 320 x 240" in reason
    assert "aspect ratio" in reason
    rows = report.read_rows(out / "results.csv")
    assert [r["image"] for r in rows] == ["Prehispanic_DemoTest002_Synthetic_N_1.png"]  # the half-size GFDM
    assert all(rows[0][m] == rows[0][m] for m in ("PCC", "SIM", "KLD"))  # scored (not NaN)


def _photo_figure(name, image_shape, seed=0):
    """The figure data of a photograph of `image_shape` (H, W): the input and the maps at the model's
    square input, the GFDM at the photograph's own size."""
    import numpy as np

    import figures
    rng = np.random.default_rng(seed)
    methods = ("GRADCAM", "CENTER")
    maps = {m: rng.random((32, 32)).astype(np.float32) for m in methods}
    curves = {"Insertion": {m: np.linspace(0.1, 0.9, 9) for m in methods},
              "Deletion": {m: np.linspace(0.9, 0.1, 9) for m in methods}}
    values = {m: {"Insertion": 0.5, "Deletion": 0.4} for m in methods}
    info = dict(true_class="Colonial", predicted_class="Modern", confidence=0.61, target_class="Colonial",
                p_full=0.3, p_start=0.1, p_end=0.05, deletion_baseline="black", insertion_start="blur")
    img = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
    gfdm = rng.random(image_shape).astype(np.float32)
    return figures.ImageFigure(name, img, gfdm, maps, curves, values, info)


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
    import figures
    import style
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

    import figures
    import style
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
    import html_report
    rows = [dict(image="Colonial_A_N_1.png", method="GRADCAM", true_class="Colonial", target_class="Colonial",
                 predicted_class="Modern", confidence=0.7, p_full=0.2, p_start=0.1, p_end=0.3, seconds=0.5)]
    text = " ".join(html_report.images_section(rows, {}).split())
    assert "<b>confidence</b>: the model's probability of the <i>predicted</i> class on the full image" in text
    assert "<b>p_full</b>: its probability of the <i>explained</i> class" in text
    readme = " ".join((ROOT / "README.md").read_text().split())
    assert "`confidence` (the model's probability of the predicted class on the full image)" in readme
    assert "`p_full` (the probability of the explained class on the full image" in readme
