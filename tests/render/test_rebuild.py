"""`python report.py OUT` (rebuild.py): the tables, plots, figures and page rebuilt from the saved
results alone, equal to what the run wrote, without the model."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import fake_run
import pytest

from xai_mexculture.cli import main
from xai_mexculture.core import runlock
from xai_mexculture.render import rebuild


ROOT = Path(__file__).resolve().parents[2]


def test_report_command_refuses_what_is_not_a_run(tmp_path, capsys):
    assert rebuild.main([str(tmp_path / "missing")]) == 2
    assert "no such folder" in capsys.readouterr().err
    assert rebuild.main([str(tmp_path)]) == 2
    assert "is not a run's output folder (no results.csv)" in capsys.readouterr().err
    out = fake_run.make(tmp_path / "out", n_images=1)
    assert rebuild.main([str(out / "results.csv")]) == 2  # a run's file for its folder (it said "no such folder")
    assert "results.csv: is a file, not a folder: give a run's output folder" in capsys.readouterr().err
    with runlock.RunLock(out):
        assert rebuild.main([str(out), "--no_progress"]) == 2
    assert "in use by another run" in capsys.readouterr().err


def test_report_command_says_which_images_it_cannot_redraw(tmp_path, capsys):
    out = fake_run.make(tmp_path / "out", n_images=2)
    shutil.rmtree(out / "curves")  # as after a run of an earlier version
    assert rebuild.main([str(out), "--no_progress"]) == 0
    assert "2 image(s) have no saved inputs, GFDM or curves" in capsys.readouterr().out
    assert (out / "report.html").is_file() and not list((out / "figures").glob("*.png"))


def test_report_command_on_a_merged_folder(tmp_path, capsys):
    a = fake_run.make(tmp_path / "a", n_images=2)
    b = fake_run.make(tmp_path / "b", n_images=4, seed=1)
    later = fake_run.image_names(4)[2:]  # b's last two images, moved into a
    rows = [line for line in (b / "results.csv").read_text().splitlines()[1:] if line.split(",")[0] in later]
    with (a / "results.csv").open("a") as f:
        f.write("\n".join(rows) + "\n")
    for folder in ("maps", "inputs", "gfdm", "curves"):
        for path in (b / folder).iterdir():
            if any(path.name.startswith(Path(n).stem) for n in later):
                shutil.copy(path, a / folder / path.name)
    (a / "curves" / f"{Path(later[1]).stem}.npz").unlink()  # one image without its curves
    assert rebuild.main([str(a), "--no_progress"]) == 0
    assert f"1 image(s) have no saved inputs, GFDM or curves (a run of an earlier version): their figures were not " \
           f"redrawn: {later[1]}" in capsys.readouterr().out
    page = (a / "report.html").read_text()
    assert all(f'id="fig-{Path(n).stem}"' in page for n in fake_run.image_names(3))
    assert f'id="fig-{Path(later[1]).stem}"' not in page and later[1] in page  # in the table, without a figure
    assert "| GRADCAM | 4 |" in (a / "summary.md").read_text()  # the tables recomputed over all four images


# --------------------------------------------------------------------------- a real run, rebuilt without the model
FAST = ["--rise_masks", "64", "--lime_samples", "32", "--step", "2000", "--no_progress",
        "--explanation_method", "GRADCAM,RISE"]


REBUILT = ("report.html", "summary.md", "summary.csv", "comparisons.csv", "figures", "plots")


def _files(out):
    return {p.relative_to(out).as_posix(): p.read_bytes() for name in REBUILT
            for p in ([out / name] if (out / name).is_file() else sorted((out / name).rglob("*"))) if p.is_file()}


# grid and PNG on two images of the bundled data (its scanpaths: the HUMAN rows and 19 run plots);
# singles and PDF (a file per panel and per plot, each with its PNG preview) on one demo image
# without scanpaths (12 run plots)
@pytest.mark.parametrize("display_type,fmt,n_images", [("grid", "png", 2), ("singles", "pdf", 1)])
def test_report_command_rebuilds_what_the_run_wrote_without_the_model(tmp_path, display_type, fmt, n_images,
                                                                      two_demo_images):
    out = tmp_path / "run"
    data = [] if fmt == "png" else two_demo_images
    args = FAST + data + ["--n_images", str(n_images), "--output_dir", str(out), "--display_type", display_type,
                          "--figure_format", fmt]
    assert main.main(args) == 0
    before = _files(out)
    assert any(k.endswith(f".{fmt}") for k in before) and "plots/curves.png" in before
    for name in REBUILT:  # everything report.py makes, removed
        path = out / name
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    code = ("import sys\nfrom xai_mexculture.render import rebuild\nrc = rebuild.main([sys.argv[1], '--no_progress'])\n"
            "loaded = [m for m in ('keras', 'tensorflow', 'jax') if m in sys.modules]\n"
            "print('loaded:', loaded)\nsys.exit(rc or (9 if loaded else 0))\n")
    res = subprocess.run([sys.executable, "-c", code, str(out)], cwd=ROOT, capture_output=True, text=True, timeout=600,
                         env={**os.environ, "MPLBACKEND": "Agg"})
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    after = _files(out)
    assert sorted(after) == sorted(before)
    differ = [k for k in before if before[k] != after[k]]
    assert not differ, differ[:5]
