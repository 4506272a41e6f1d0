"""The causal metrics' baselines as run options: recorded in results.csv and the manifest, with the
class probabilities of the full image, the insertion start and the fully deleted image."""
import json
from pathlib import Path

import numpy as np
import pytest
from test_run_folder import _args, small  # noqa: F401  (the fixture)

from xai_mexculture.cli import main
from xai_mexculture.results import tables


@pytest.fixture(scope="module")
def plain_run(small, tmp_path_factory):  # noqa: F811
    """A run with the default baselines (deletion black, insertion from the blur) of the four images:
    read by the tests below, or copied where one changes it."""
    out = tmp_path_factory.mktemp("plain") / "black"
    assert main.main(_args(small, out)) == 0
    return out


def _copy(run, tmp_path):
    import shutil
    return Path(shutil.copytree(run, tmp_path / run.name))


def test_baselines_are_recorded_with_their_probabilities(small, plain_run, tmp_path):  # noqa: F811
    black, mean = plain_run, tmp_path / "mean"
    assert main.main(_args(small, mean, "--deletion_baseline", "mean", "--insertion_start", "black")) == 0
    rows_b, rows_m = tables.read_rows(black / "results.csv"), tables.read_rows(mean / "results.csv")
    assert {r["deletion_baseline"] for r in rows_b} == {"black"} and {r["insertion_start"] for r in rows_b} == {"blur"}
    assert {r["deletion_baseline"] for r in rows_m} == {"mean"} and {r["insertion_start"] for r in rows_m} == {"black"}
    for rb, rm in zip(rows_b, rows_m):
        assert rb["p_full"] == pytest.approx(rm["p_full"]) and 0 <= rb["p_full"] <= 1
        assert rb["p_start"] != pytest.approx(rm["p_start"])  # blurred vs black start
        assert rb["p_end"] != pytest.approx(rm["p_end"])  # black vs mean colour
        assert rb["Deletion"] != pytest.approx(rm["Deletion"])
    manifest = json.loads((mean / "manifest.json").read_text())
    assert manifest["numbers"]["deletion_baseline"] == "mean" and manifest["numbers"]["insertion_start"] == "black"


def test_a_number_baseline_and_bad_values(small, tmp_path, capsys):  # noqa: F811
    out = tmp_path / "grey"
    assert main.main(_args(small, out, "--deletion_baseline", "127.5")) == 0
    rows = tables.read_rows(out / "results.csv")
    assert {r["deletion_baseline"] for r in rows} == {"127.5"}
    for bad in (["--deletion_baseline", "grey"], ["--deletion_baseline", "300"], ["--insertion_start", "12"]):
        with pytest.raises(SystemExit) as exit_info:
            main.main(_args(small, tmp_path / "bad", *bad))
        assert exit_info.value.code == 2
        err = capsys.readouterr().err
        assert bad[0] in err and "expected one of" in err


def test_resume_refuses_another_baseline(small, plain_run, tmp_path, capsys):  # noqa: F811
    out = _copy(plain_run, tmp_path)
    assert main.main(_args(small, out, "--resume", "--deletion_baseline", "blur")) == 2
    assert "--deletion_baseline 'black' -> 'blur'" in capsys.readouterr().err


def test_resume_refuses_results_of_other_columns(small, plain_run, tmp_path, capsys):  # noqa: F811
    out = _copy(plain_run, tmp_path)
    path = out / "results.csv"
    lines = path.read_text().splitlines()
    header = lines[0].split(",")
    drop = header.index("p_start")
    path.write_text("\n".join(",".join(v for i, v in enumerate(line.split(",")) if i != drop)
                              for line in lines) + "\n")
    assert main.main(_args(small, out, "--resume")) == 2
    assert "missing: p_start" in capsys.readouterr().err
    assert len(path.read_text().splitlines()) == len(lines)  # untouched


def test_summary_flags_images_a_baseline_alone_keeps_above_half(plain_run):
    out = plain_run
    rows = tables.read_rows(out / "results.csv")
    flagged = sorted({r["image"] for r in rows if r["p_start"] > 0.5 or r["p_end"] > 0.5})
    text = (out / "summary.md").read_text()
    for name in flagged:
        assert name in text.split("Baseline check")[1]
    assert ("Baseline check" in text) == bool(flagged)
    assert np.isfinite([r["p_end"] for r in rows]).all()
