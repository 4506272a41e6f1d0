"""Writes that a crash cannot leave half done: a file is written under a temporary name beside it
and renamed over the target (os.replace is atomic on one file system); appends are flushed and
fsynced before the call returns."""
import contextlib
import os
from pathlib import Path


@contextlib.contextmanager
def replacing(path):
    """Yields a temporary path beside `path` (same suffix, so writers that pick a format by the
    suffix still do); renames it over `path` when the block ends without an error."""
    path = Path(path)
    tmp = path.with_name(f".{path.stem}.tmp{os.getpid()}{path.suffix}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_text(path, text) -> None:
    with replacing(path) as tmp:
        with open(tmp, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())


def save_npy(path, array) -> None:
    import numpy as np
    with replacing(path) as tmp:
        np.save(tmp, array)


def append_text(path, text) -> None:
    """Append `text` and make it durable (flush + fsync) before returning."""
    with open(path, "a") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())


def drop_partial_line(path) -> bool:
    """Truncate a text file after its last newline (a line cut by a crash); True if it did."""
    path = Path(path)
    if not path.exists():
        return False
    data = path.read_bytes()
    if not data or data.endswith(b"\n"):
        return False
    cut = data.rfind(b"\n") + 1
    with open(path, "r+b") as f:
        f.truncate(cut)
    return True


def remove_stale_temporaries(folder) -> int:
    """Remove the temporary files a killed run left (".NAME.tmpPID.EXT"); returns how many."""
    count = 0
    for path in Path(folder).rglob(".*.tmp*"):
        if path.is_file():
            path.unlink()
            count += 1
    return count
