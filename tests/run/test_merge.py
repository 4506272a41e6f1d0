"""Shards and merge: a merged sharded run equals the single run (timings aside)."""
import csv
import json

import numpy as np
import pytest
from test_run_folder import _args, make_folder, tiny_model

from xai_mexculture.cli import main
from xai_mexculture.run import merge
from xai_mexculture.run import options


@pytest.fixture(scope="module")
def five(tmp_path_factory):
    root = tmp_path_factory.mktemp("five")
    imgs, gfdms, names = make_folder(root, 5)
    return dict(root=root, imgs=imgs, gfdms=gfdms, names=names, model=tiny_model(root / "tiny.keras"))


@pytest.fixture(scope="module")
def halves(five, tmp_path_factory):
    """Shards 0/2 and 1/2 of `five` (the default flags), read by the tests below (merge only reads its shards)."""
    root = tmp_path_factory.mktemp("halves")
    for i in range(2):
        assert main.main(_args(five, root / "ab"[i], "--shard", f"{i}/2")) == 0
    return root / "a", root / "b"


def _table(path, drop=("seconds", "seconds_per_image")):
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    return [{k: v for k, v in r.items() if k not in drop} for r in rows]


def test_shard_slices_are_round_robin_after_n_images():
    assert options.shard_samples(range(7), (1, 3)) == [1, 4]
    assert options.shard_samples(range(7), None) == list(range(7))
    args = options.parse_args(["--shard", "2/4"])
    assert args.shard == (2, 4)
    for bad in ("4/4", "1", "a/b", "0/0"):
        with pytest.raises(SystemExit):
            options.parse_args(["--shard", bad])


def test_merged_shards_equal_the_single_run(five, tmp_path):
    extra = ["--explanation_method", "GRADCAM,RISE", "--rise_masks", "32", "--references", "CENTER,RANDOM"]
    single = tmp_path / "single"
    assert main.main(_args(five, single, *extra)) == 0
    shards = [tmp_path / f"shard{i}" for i in range(3)]
    for i, folder in enumerate(shards):
        assert main.main(_args(five, folder, *extra, "--shard", f"{i}/3")) == 0
    assert len(_table(shards[1] / "results.csv")) == 2 * 4  # images 1 and 4 x (2 methods + 2 references)
    merged = tmp_path / "merged"
    assert merge.main([str(s) for s in reversed(shards)] + ["--output_dir", str(merged)]) == 0
    for name in ("results.csv", "summary.csv", "comparisons.csv"):
        assert _table(merged / name) == _table(single / name), name
    assert (merged / "summary.md").read_text().split("| s/image |")[1].count("|") > 0
    for path in sorted((single / "maps").glob("*.npy")):
        np.testing.assert_array_equal(np.load(merged / "maps" / path.name), np.load(path))
    manifest = json.loads((merged / "manifest.json").read_text())
    assert [m["shard"] for m in manifest["merged_from"]] == ["2/3", "1/3", "0/3"]
    assert manifest["n_images"] == 5 and manifest["numbers"]["shard"] is None
    page = (merged / "report.html").read_text()  # rebuilt over every shard's images
    assert all(name in page for name in five["names"])


def test_merge_refuses_shards_that_differ_or_are_missing(five, halves, tmp_path, capsys):
    a, b, c = halves[0], tmp_path / "b", tmp_path / "c"
    assert main.main(_args(five, b, "--shard", "1/2", "--step", "128")) == 0
    assert main.main(_args(five, c, "--shard", "1/3")) == 0
    out = tmp_path / "out"
    assert merge.main([str(a), str(b), "--output_dir", str(out)]) == 2
    err = capsys.readouterr().err
    assert "step: 256" in err and "128" in err and str(b) in err
    assert merge.main([str(a), str(c), "--output_dir", str(out)]) == 2
    assert "shard counts differ" in capsys.readouterr().err
    assert merge.main([str(a), "--output_dir", str(out)]) == 2
    assert "shard(s) 1 missing" in capsys.readouterr().err
    assert merge.main([str(a), "--output_dir", str(out), "--allow_missing"]) == 0
    assert merge.main([str(a), "--output_dir", str(out), "--allow_missing"]) == 2  # not empty any more
    assert "not empty" in capsys.readouterr().err
    single = tmp_path / "plain"
    assert main.main(_args(five, single)) == 0
    assert merge.main([str(single), "--output_dir", str(tmp_path / "o2")]) == 2
    assert "not a shard" in capsys.readouterr().err


def test_an_empty_shard_is_a_clear_error(five, tmp_path, capsys):
    assert main.main(_args(five, tmp_path / "x", "--shard", "5/6")) == 2
    assert "no image in this shard (5 images in all" in capsys.readouterr().err


def test_merge_refuses_unfinished_or_damaged_shards_and_marks_an_incomplete_merge(five, halves, tmp_path, capsys):
    import shutil
    a, b = halves
    shard_b = json.loads((b / "manifest.json").read_text())["images"]
    assert shard_b == sorted(five["names"])[1::2]  # the run's images (after --n_images and --shard)
    capsys.readouterr()
    # a shard whose run ended before its first image (no results.csv): it was merged, exit 0
    started = tmp_path / "started"
    shutil.copytree(b, started)
    (started / "results.csv").unlink()
    assert merge.main([str(a), str(started), "--output_dir", str(tmp_path / "o1")]) == 2
    assert f"{started}: 2 image(s) without results or an error (its run did not finish)" in capsys.readouterr().err
    # a shard killed after its first image
    partial = tmp_path / "partial"
    shutil.copytree(b, partial)
    lines = (partial / "results.csv").read_text().splitlines(keepends=True)
    (partial / "results.csv").write_text("".join(l for l in lines if shard_b[1] not in l))
    assert merge.main([str(a), str(partial), "--output_dir", str(tmp_path / "o2")]) == 2
    assert f"{partial}: 1 image(s) without results" in capsys.readouterr().err
    # a damaged row: it was copied into the merged results.csv (and counted as an image)
    damaged = tmp_path / "damaged"
    shutil.copytree(b, damaged)
    with (damaged / "results.csv").open("a") as f:
        f.write('garbage,"unterminated\n')
    assert merge.main([str(a), str(damaged), "--output_dir", str(tmp_path / "o3")]) == 2
    assert f"results.csv, line {len(lines) + 1}: a damaged row" in capsys.readouterr().err
    with (damaged / "results.csv").open("w") as f:  # the same in errors.csv: refused before anything is written
        f.write("".join(lines))
    with (damaged / "errors.csv").open("a") as f:
        f.write('x.png,"torn\n')
    assert merge.main([str(a), str(damaged), "--output_dir", str(tmp_path / "o3b")]) == 2
    assert "errors.csv, line 2: a damaged row (unexpected end of data)" in capsys.readouterr().err
    assert not [p.name for p in (tmp_path / "o3b").iterdir() if not p.name.startswith(".")]
    # a shard given twice: it was "in use by another run" (the merge's own lock)
    assert merge.main([str(a), str(a), "--output_dir", str(tmp_path / "o4")]) == 2
    err = capsys.readouterr().err
    assert f"{a} is given twice" in err and "another run" not in err
    # --allow_missing merges what there is, and says so in the tables and the page
    out = tmp_path / "o5"
    assert merge.main([str(a), str(partial), "--output_dir", str(out), "--allow_missing"]) == 0
    warning = f"1 image(s) of {partial} unfinished"
    assert warning in capsys.readouterr().err
    assert (out / "summary.md").read_text().startswith("**Incomplete.** Merged with --allow_missing: ")
    assert warning in (out / "summary.md").read_text() and warning in (out / "report.html").read_text()
    assert merge.main([str(a), "--output_dir", str(tmp_path / "o6"), "--allow_missing"]) == 0
    assert "shard(s) 1 of 2 missing" in (tmp_path / "o6" / "summary.md").read_text()
    # a complete merge has no such note
    assert merge.main([str(a), str(b), "--output_dir", str(tmp_path / "o7")]) == 0
    assert "Incomplete" not in (tmp_path / "o7" / "summary.md").read_text() + (tmp_path / "o7" / "report.html").read_text()
