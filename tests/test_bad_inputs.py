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
