"""A run's output folder: made or claimed (locked, --resume, --overwrite), its manifest, and the
checks that a resumed run computes the same numbers.
"""
import datetime
import hashlib
import json
import logging
import os
import platform
import shutil
import sys
from pathlib import Path

from xai_mexculture.core import backend
from xai_mexculture.run import exits

log = logging.getLogger("xai_mexculture")


# an interrupted run exits with 128 + the signal's number: 130 for Ctrl-C (SIGINT), 143 for SIGTERM
# What --overwrite clears (the tool's own outputs; nothing else in the folder is touched).
OUTPUTS = ("results.csv", "summary.md", "summary.csv", "comparisons.csv", "errors.csv", "manifest.json",
           "crash.log", "maps", "figures", "sanity.csv", "sanity.png", "report.html",
           "plots", "inputs", "gfdm", "curves")


def file_sha256(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def new_run_folder(root=Path("outputs")) -> Path:
    """A new folder root/run-YYYYmmdd-HHMMSS (-2, -3, ... when taken), and root/latest pointing to it."""
    root.mkdir(parents=True, exist_ok=True)
    stamp = datetime.datetime.now().strftime("run-%Y%m%d-%H%M%S")
    for i in range(1, 1000):
        folder = root / (stamp if i == 1 else f"{stamp}-{i}")
        try:
            folder.mkdir()
            break
        except FileExistsError:
            continue
    latest, tmp = root / "latest", root / f".latest.{os.getpid()}"
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    tmp.symlink_to(folder.name)
    os.replace(tmp, latest)
    return folder


def output_folder(args) -> Path:
    """The run's folder (created); the default is a new dated folder under outputs/."""
    if args.output_dir is None:
        try:
            return new_run_folder()
        except OSError as err:  # outputs/ read-only, or a file of that name
            raise exits.UsageError(f"outputs: cannot make the run's folder there ({err.strerror or err}); give "
                             f"--output_dir a folder this user can write to") from None
    out_dir = Path(args.output_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as err:  # a file on the way, no permission, a read-only or virtual file system, ...
        raise exits.UsageError(f"--output_dir {out_dir}: cannot be used as a folder ({err.strerror or err})") from None
    return out_dir


def claim_folder(out_dir, args):
    """With the lock held: a non-empty folder needs --resume or --overwrite; --overwrite clears the
    tool's own earlier outputs."""
    from xai_mexculture.core import runlock
    present = sorted(p.name for p in out_dir.iterdir() if p.name != runlock.LOCK_NAME)
    if not present or args.resume:
        return
    if not args.overwrite:
        raise exits.UsageError(f"--output_dir {out_dir} is not empty ({', '.join(present[:5])}"
                         f"{', ...' if len(present) > 5 else ''}): add --resume to continue that run, "
                         f"--overwrite to replace it, or choose another folder")
    for name in OUTPUTS:
        path = out_dir / name
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()


def write_manifest(args, out_dir, methods, n_images, numbers):
    from xai_mexculture.core import safe_io
    from importlib import metadata
    versions = {}
    for pkg in ("tensorflow", "tensorflow-cpu", "jax", "jaxlib", "keras", "numpy", "opencv-python-headless",
                "lime", "scikit-image", "matplotlib", "scipy"):
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            pass
    params = {k: v for k, v in vars(args).items()
              if k not in ("methods", "samples", "input_size", "min_image_side", "fixation_set", "scanpath_index")}
    manifest = dict(date=datetime.datetime.now(datetime.timezone.utc).isoformat(),
                    command=" ".join(sys.argv), output_dir=str(out_dir), parameters=params, methods=methods,
                    backend=backend.name(), numbers=numbers, n_images=n_images,
                    images=[s.name for s in getattr(args, "samples", ())],
                    model_sha256=numbers["model_sha256"], python=platform.python_version(),
                    platform=platform.platform(), packages=versions)
    safe_io.write_text(out_dir / "manifest.json", json.dumps(manifest, indent=2, default=str))


def check_resume(out_dir, numbers) -> dict:
    """--resume only continues a run made with the same number-changing parameters. Methods may be
    added (their parameters are new keys) or left out (the parameters of a method this run does not
    make are not compared). Returns the numbers to record: the earlier run's, updated with this
    run's, so that the parameters of a method left out now are still checked when it comes back."""
    path = out_dir / "manifest.json"
    if not path.exists():
        return numbers
    try:
        old = json.loads(path.read_text()).get("numbers", {})
    except ValueError:
        raise exits.UsageError(f"{path}: not a readable manifest; cannot resume safely (use --overwrite)") from None
    new = json.loads(json.dumps(numbers, default=str))
    differ = [f"--{k} {old[k]!r} -> {new[k]!r}" for k in sorted(old) if k in new and old[k] != new[k]]
    if differ:
        raise exits.UsageError(f"--resume in {out_dir}: these parameters differ from the earlier run, so its rows "
                         f"cannot be mixed with new ones: {'; '.join(differ)}")
    return {**old, **numbers}


def check_columns(results_path):
    """--resume appends to results.csv only when its columns are this version's."""
    from xai_mexculture.results import tables
    if not results_path.exists() or results_path.stat().st_size == 0:
        return
    with results_path.open(newline="") as f:
        header = f.readline().strip().split(",")
    if header != tables.columns():
        missing = [c for c in tables.columns() if c not in header]
        raise exits.UsageError(f"--resume in {results_path.parent}: results.csv has other columns than this version "
                         f"writes (missing: {', '.join(missing) or 'none'}); its rows cannot be continued "
                         f"(use --overwrite or another --output_dir)")


def remove_if_unused(folder):
    """A folder this run created and left holding only its lock file is removed again."""
    from xai_mexculture.core import runlock
    if folder is None or not folder.is_dir():
        return
    entries = list(folder.iterdir())
    if [p.name for p in entries] == [runlock.LOCK_NAME]:
        try:
            entries[0].unlink()
            folder.rmdir()
        except OSError:
            pass
