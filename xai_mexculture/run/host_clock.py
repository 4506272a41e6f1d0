"""The host work's accounting: CPU-seconds by kind (`CLOCK`, filled by the per-image stage and the
pipeline's pool) and the wall-time marks of the last run; the cores this process may use.
"""
import collections
import contextlib
import os
import threading
import time


def cores() -> int:
    """CPU cores this process may use (the default of --host_workers)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


class HostClock:
    """CPU-seconds of host work by kind, and the wall times of the run (`marks`)."""

    def __init__(self):
        self.reset()

    def reset(self):
        self.lock = threading.Lock()  # the writer thread adds the host processes' CPU time
        self.cpu = collections.Counter()
        self.pool_cpu = 0.0
        self.marks = {}

    def __getstate__(self):  # a copy (the benchmark keeps each run's) without the lock
        return {k: v for k, v in self.__dict__.items() if k != "lock"}

    def __setstate__(self, state):
        self.__dict__.update(state, lock=threading.Lock())

    @contextlib.contextmanager
    def section(self, kind):
        """Counts the CPU time of the calling thread (the main thread's host work) as `kind`."""
        start = time.thread_time()
        try:
            yield
        finally:
            self.add({kind: time.thread_time() - start}, in_pool=False)

    def add(self, cpu_by_kind, in_pool=True):
        with self.lock:
            for kind, seconds in cpu_by_kind.items():
                self.cpu[kind] += seconds
                if in_pool:
                    self.pool_cpu += seconds

    def mark(self, name):
        self.marks[name] = time.perf_counter()

    def total(self) -> float:
        return float(sum(self.cpu.values()))

    def summary(self) -> str:
        parts = ", ".join(f"{k} {v:.1f}" for k, v in sorted(self.cpu.items(), key=lambda kv: -kv[1]))
        return f"{self.total():.1f} CPU-s ({parts}; {self.pool_cpu:.1f} of them in the host processes)"


CLOCK = HostClock()


def cpu_seconds(kind, fn, *args, **kwargs):
    """(fn(...), {kind: CPU seconds of this process}) in a host process."""
    start = time.process_time()
    out = fn(*args, **kwargs)
    return out, {kind: time.process_time() - start}
