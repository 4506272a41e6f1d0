"""One run per output folder: an advisory lock on OUT/.lock, held by the main process for the whole
run. The lock is an flock on an open file, so it disappears with the process (also on a crash or a
SIGKILL); the file is opened close-on-exec, so a process the tool starts never holds it.
"""
import fcntl
import os
from pathlib import Path

LOCK_NAME = ".lock"


class FolderLocked(RuntimeError):
    """Another live process holds the folder's lock."""


class FolderUnwritable(RuntimeError):
    """The folder's lock file cannot be made: a read-only folder or file system, no permission, a
    virtual file system (/proc, /sys)."""


class RunLock:
    """`with RunLock(folder):` holds the folder's lock or raises FolderLocked naming the holder
    (FolderUnwritable naming the folder where the lock file cannot be made)."""

    def __init__(self, folder):
        self.folder = Path(folder)
        self.path = self.folder / LOCK_NAME
        self.fd = None

    def acquire(self):
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as err:
            raise FolderUnwritable(f"{self.folder}: cannot be written ({err.strerror or err}); choose a folder "
                                   f"this user can write to") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise FolderLocked(f"{self.folder} is in use by another run (process {holder}); wait for it to "
                               f"finish or choose another --output_dir") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self.fd = fd
        return self

    def release(self):
        if self.fd is not None:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc):
        self.release()
        return False
