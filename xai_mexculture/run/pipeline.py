"""The run's host work off the model's critical path (main.py, `--host_workers N`).

While the main process runs the model on one image, a pool of host processes (started with
"spawn": they hold no model, no lock and no Keras) does the rest of the other images' work:
  - ahead: LIME's quickshift segmentation of the next images (given to the explainer, which uses it
    only for that same image);
  - behind: once the model metrics of an image are done, its maps and curves go to the pool for the
    host metrics (the gaze metrics, the scanpath ones, Sparseness: every registered metric that needs
    neither the model nor the explainers), the rows, the saved arrays and the per-image figure.
The one writer (runner's deliver, called by a writer thread here) still appends the rows of image
i only when they are complete and every earlier image is written or failed, but as soon as they are,
while the model works on later images; one image that fails, in either process, is reported and the
others go on. A metric is computed in the pool only when a host process has the same metric
registered (a metric registered at run time, e.g. by a test or a plugin folder, stays in the main
process), so the numbers are those of a serial run (`--host_workers 0`). If the pool breaks (a host
process killed), its work is redone in the main process and the run goes on serially.

`host_clock.CLOCK` counts the host work of the last run in CPU-seconds: the main thread's own host sections
(time.thread_time) and the CPU time of each task in the pool (time.process_time), per kind (the
writer thread adds the latter, hence its lock).
"""
import concurrent.futures
import contextlib
import dataclasses
import functools
import logging
import multiprocessing
import os
import queue
import sys
import threading
import time
import types

from xai_mexculture.run import host_clock
from xai_mexculture.run import image_stage

log = logging.getLogger("xai_mexculture")
HOST_NICE = 19  # the host processes' niceness where Linux's idle scheduling class is missing


@dataclasses.dataclass
class HostJob:
    """What the host half of one image needs; numpy arrays and plain values only (no model). image:
    metrics.ImageData without model, scorer, explainers, native builders and cache; maps: the
    methods' and references' maps; values: the rows' values computed so far; only: the metrics to
    compute here; figure: draw the figures (display_type, fmt; figure_task)."""
    name: str
    image: object
    maps: dict
    references: list
    reference_params: dict
    values: dict
    only: tuple
    common: dict
    seconds: dict
    out_dir: str
    figure: bool
    display_type: str
    fmt: str


def host_task(job: HostJob):
    """Runs in a host process (or in the main process when the pool is gone): the host metrics, the
    rows and the saved arrays of one image (its figures: figure_task, beside it). Returns
    (("written", rows) | ("error", message), {kind: CPU seconds})."""
    from xai_mexculture.metrics import references
    cpu = {}
    try:
        image = job.image
        builders = references.native_builders([r for r in job.references if r in job.maps], image.seed,
                                              **job.reference_params)
        image.native = {id(job.maps[r]): build for r, build in builders.items()}
        values, cpu_part = host_clock.cpu_seconds("host metrics", image_stage.evaluate, image, job.maps, job.only)
        cpu.update(cpu_part)
        rows = image_stage.image_rows(job.common, job.seconds, image_stage.merge_values(job.values, values))
        _, cpu_part = host_clock.cpu_seconds("saving", image_stage.save_arrays, job.out_dir, job.name, job.maps, image.img, image.gfdm, image.curves)
        cpu.update(cpu_part)
        return ("written", rows), cpu
    except Exception as err:  # reported by the writer, in image order
        return ("error", image_stage.failure(err)), cpu


def figure_task(job: HostJob):
    """Runs in a host process beside the image's host_task: its figures, from the rows the model
    stage made (a figure shows the curve metrics and the shared columns, not the host metrics).
    Returns (("drawn", None) | ("error", message), {"figures": CPU seconds})."""
    start = time.process_time()
    try:
        image = job.image
        rows = image_stage.image_rows(job.common, job.seconds, job.values)
        image_stage.draw_figures(job.out_dir, job.name, image.img, image.gfdm, job.maps, image.curves, rows, job.display_type,
                     job.fmt)
        outcome = ("drawn", None)
    except Exception as err:  # reported by the writer, in image order
        outcome = ("error", image_stage.failure(err))
    return outcome, {"figures": time.process_time() - start}


def segment_task(image_path, input_size, seed):
    """Runs in a host process: ((LIME segments, seconds) or None, {kind: CPU seconds}) of an image as
    the model stage will see it (read, resized to the model input; the explainer checks that the
    image is the same). seconds: the CPU time of the segmentation (a host process at a low priority
    may wait for a core: its wall time would say more about the model's load than about LIME). None
    when the image cannot be read: the model stage reports why."""
    from xai_mexculture.explainers import lime_method
    from xai_mexculture.core import image_io
    start = time.process_time()
    try:
        img = image_io.fit_image(image_io.read_rgb(image_path), input_size)
        begin = time.process_time()
        out = (lime_method.segment(img, seed), time.process_time() - begin)
    except Exception:  # the model stage reads the image too, and says what is wrong with it
        out = None
    return out, {"segmentation": time.process_time() - start}


def _fingerprint(entry) -> str:
    """A registry entry (metrics.Metric, references.Reference: frozen dataclasses) as text: its
    fields, and the module and name of its function."""
    fields, fn = [], None
    for field in dataclasses.fields(entry):
        value = getattr(entry, field.name)
        if callable(value):
            fn = value
        else:
            fields.append((field.name, value))
    return f"{fields!r}|{getattr(fn, '__module__', None)}.{getattr(fn, '__qualname__', None)}"


def registry_fingerprints():
    """{metric name: fingerprint}, {reference name: fingerprint} of this process's registries (after
    discovering the project's modules): the main process compares them with its own."""
    from xai_mexculture import explainers
    from xai_mexculture import metrics
    from xai_mexculture.metrics import references
    explainers.discover()
    return ({m.name: _fingerprint(m) for m in metrics.all_metrics()},
            {name: _fingerprint(references.get(name)) for name in references.names()})


THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def single_threaded():
    """Numpy's BLAS, OpenMP and OpenCV on one thread in this process: the host processes already
    run side by side, and a second BLAS thread doubled the CPU time of the host metrics (waiting
    threads spin) for the same wall time. Set before numpy is imported, and through threadpoolctl
    (a dependency of scikit-learn) where it was imported already."""
    for name in THREAD_VARIABLES:
        os.environ[name] = "1"
    try:
        import threadpoolctl
        threadpoolctl.threadpool_limits(1)
    except ImportError:
        pass
    import cv2
    cv2.setNumThreads(1)


def lowest_priority():
    """This process in Linux's idle scheduling class (SCHED_IDLE): it runs on a core only when no
    other process wants it, so it never takes a time slice from one of the model's threads (at
    niceness +10 it still did, and the other threads of the compiled call then waited for that one);
    niceness +HOST_NICE where the class is missing. The model stage makes a segmentation itself when
    no host process has started it (see `_segments`)."""
    try:
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
        return
    except (AttributeError, OSError):  # not Linux
        pass
    try:
        os.nice(HOST_NICE)
    except (AttributeError, OSError):
        pass


def _leave():
    """The end of a host process, once the pool has stopped it and every result is sent (the
    process's last exit handler): its output flushed, it exits without tearing down the
    interpreter's modules (matplotlib, scikit-image...: 0.2-0.4 s that the run waited for). A process
    ending on an error (a task it could not read) ends the usual way, which prints the error."""
    if sys.exc_info()[0] is not None:
        return
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (AttributeError, OSError, ValueError):
            pass
    os._exit(0)


def _init_worker(parent):
    """A host process: runs at the lowest priority (lowest_priority: the model's threads keep the
    cores, the host work fills the time they leave), on one thread (single_threaded), ignores Ctrl-C
    (the main process stops the pool), leaves when the main process is gone (even killed), and
    imports what its tasks use."""
    import signal
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    lowest_priority()

    def watch():
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(0)
    threading.Thread(target=watch, daemon=True).start()
    import multiprocessing.util
    multiprocessing.util.Finalize(None, _leave, exitpriority=-100)  # the last thing the process does
    single_threaded()
    import matplotlib.backends.backend_agg  # noqa: F401
    import matplotlib.colorbar  # noqa: F401
    import matplotlib.figure  # noqa: F401
    import scipy.special  # noqa: F401  (the run plots' t quantiles; no scipy.stats: 0.8 s of CPU)
    import skimage.segmentation  # noqa: F401

    from xai_mexculture import explainers, metrics  # noqa: F401  (LIME's segmentation, the metrics)
    from xai_mexculture.render import figures, plots, representations  # noqa: F401
    from xai_mexculture.results import tables  # noqa: F401


@dataclasses.dataclass
class Task:
    """A call submitted to the pool: its future, and the call itself (redone in the main process
    when the pool breaks under it); `here`: it already ran in the main process."""
    future: concurrent.futures.Future
    fn: object
    args: tuple
    here: bool = False

    def done(self) -> bool:
        return self.future.done()


@contextlib.contextmanager
def _main_script_hidden():
    """A process started with spawn runs the parent's __main__ script again (as __mp_main__) before
    its first task: the host processes need nothing from it (their tasks are in this module), and a
    script that calls main.main() without `if __name__ == "__main__":` would start a second run in
    each of them. While they are started, __main__ is an empty module."""
    real = sys.modules["__main__"]
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        sys.modules["__main__"] = real


class HostPool:
    """The host processes; once broken, the same calls are made in the main process."""

    def __init__(self, n_workers):
        self.n = int(n_workers)
        self.broken = False
        self._executor = concurrent.futures.ProcessPoolExecutor(
            self.n, mp_context=multiprocessing.get_context("spawn"), initializer=_init_worker,
            initargs=(os.getpid(),))
        # start every process now (they import while the model loads; with spawn, a process is
        # started by the submit that finds no idle one); the answer says which metrics and
        # references the host processes have
        with _main_script_hidden():
            self._registry = [self._executor.submit(registry_fingerprints) for _ in range(self.n)]

    def submit(self, fn, *args) -> Task:
        """fn(*args) -> (result, {kind: CPU seconds}) in the pool (here once the pool is broken)."""
        if not self.broken:
            try:
                return Task(self._executor.submit(fn, *args), fn, args)
            except (concurrent.futures.process.BrokenProcessPool, RuntimeError) as err:
                self._broke(err)
        future = concurrent.futures.Future()
        future.set_result(fn(*args))
        return Task(future, fn, args, here=True)

    def result(self, task: Task):
        """The task's result (waiting for it); redone here when the pool broke under it. Its CPU
        time goes to host_clock.CLOCK."""
        try:
            result, cpu = task.future.result()
            host_clock.CLOCK.add(cpu, in_pool=not task.here)
        except concurrent.futures.process.BrokenProcessPool as err:
            self._broke(err)
            result, cpu = task.fn(*task.args)
            host_clock.CLOCK.add(cpu, in_pool=False)
        return result

    def _broke(self, err):
        if not self.broken:
            log.error("the host processes stopped (%s); the rest of the run does their work in the main process",
                      err or type(err).__name__)
        self.broken = True

    def portable(self, metric_names, reference_names) -> tuple:
        """The metrics (of metric_names) that the host processes compute with the same numbers as
        this process: registered there the same way; none when a reference of the run is not."""
        ours = registry_fingerprints()
        try:
            theirs = self._registry[0].result()
        except concurrent.futures.process.BrokenProcessPool as err:
            self._broke(err)
            return ()
        if any(theirs[1].get(r) != ours[1].get(r) for r in reference_names):
            return ()
        return tuple(m for m in metric_names if theirs[0].get(m) == ours[0].get(m))

    def close(self):
        self._executor.shutdown(wait=True, cancel_futures=True)


def run_images(todo, model, args, explainer_objects, bar, pool, out_dir, deliver):
    """deliver(sample, ("written", rows) | ("error", message)) for each image of `todo`, in its
    order, like image_stage.local_results, with the host work in `pool`: the model stage of image i runs
    here while the pool segments the next images and finishes the earlier ones (host metrics,
    arrays, figures), and a writer thread delivers each image as soon as its host work is done (so
    that a run killed meanwhile loses only the images not finished yet). At most 2 x workers + 1
    images wait for their host work (then the model waits). Interrupted (KeyboardInterrupt, the
    SIGTERM of main.main), it stops making maps, lets the host processes finish the images whose
    maps are made, delivers them, then raises again."""
    from xai_mexculture import explainers
    from xai_mexculture.run import options
    from xai_mexculture import metrics
    from xai_mexculture.metrics.causal import CurveScorer
    scorer = CurveScorer(model, args.batch_size, args.jit == "on")
    host = [m.name for m in metrics.all_metrics() if metrics.is_host(m) and not m.curve]

    @functools.cache
    def portable():
        """The host metrics done in the pool: asked once the first image's maps are made (the host
        processes start meanwhile; asking first made the model wait for them)."""
        only = pool.portable(host, args.references)
        left = [m for m in host if m not in only]
        if left:
            log.info("computed in the main process (not registered the same way in the host processes): %s",
                     ", ".join(left))
        return only
    segmenters = [e for e in explainer_objects.values() if hasattr(e, "give_segments")]
    ahead = max(1, pool.n)
    segmentations = {}
    figure_for = options.figure_selector(args)
    writer = Writer(pool, deliver, limit=2 * pool.n + 2)
    try:
        for i, sample in enumerate(todo):
            for j in range(i, min(i + ahead + 1, len(todo))):
                if segmenters and j not in segmentations:
                    segmentations[j] = pool.submit(segment_task, todo[j].image_path, args.input_size,
                                                    explainers.seed_for(segmenters[0].seed, todo[j].name))
            bar_start = bar.n if bar is not None else 0
            writer.make_room()
            try:
                # waited for only when LIME's turn comes: the first image's segmentation waits for a
                # host process to start, while the other methods can already run
                segments = (lambda task=segmentations.pop(i): _segments(pool, task)) if i in segmentations else None
                stage = image_stage.model_stage(sample, model, args, explainer_objects, scorer, bar, skip=portable,
                                         segments=segments)
                image = dataclasses.replace(stage.image, model=None, scorer=None, explainers=None, native={},
                                            cache={})
                job = HostJob(sample.name, image, stage.maps, list(args.references),
                              dict(center_sigma=args.center_sigma), stage.values, portable(), stage.common,
                              stage.seconds, str(out_dir), figure_for(sample.name), args.display_type,
                              args.figure_format)
                tasks = [pool.submit(host_task, job)] + ([pool.submit(figure_task, job)] if job.figure else [])
                writer.put((sample, None, tasks))
                host_clock.CLOCK.mark(f"model stage {i + 1}")
            except Exception as err:  # reported by the writer, in order
                writer.put((sample, ("error", image_stage.failure(err)), None))
            if bar is not None:
                bar.update(bar_start + len(explainer_objects) - bar.n)
    except BaseException:
        for task in segmentations.values():  # no more images: their segmentations are not needed
            task.future.cancel()
        if writer.waiting():
            print(f"interrupted: finishing the host work of {writer.waiting()} image(s) whose maps are made "
                  f"(interrupt again to stop now)", file=sys.stderr, flush=True)
        writer.finish()
        raise
    if bar is not None and writer.waiting():
        bar.set_postfix_str(f"{writer.waiting()} image(s) finishing on the host")
    writer.finish()


class Writer:
    """The thread that delivers the images of the pipelined run in their order, each as soon as its
    host work and figure are done, while the main thread runs the model on later images. `limit`:
    how many images may wait for their host work (make_room waits below it)."""

    def __init__(self, pool, deliver, limit):
        self.pool, self.deliver = pool, deliver
        self.queue = queue.Queue()
        self.room = threading.Semaphore(limit)
        self.put_count = self.delivered = 0
        self.error = None
        self.thread = threading.Thread(target=self._loop, name="writer", daemon=True)
        self.thread.start()

    def make_room(self):
        """Waits until fewer than `limit` images wait for their host work (the model then goes on)."""
        while not self.room.acquire(timeout=0.5):
            if not self.thread.is_alive():
                raise self.error or RuntimeError("the pipeline's writer thread stopped")

    def put(self, item):
        """(sample, outcome, None) or (sample, None, [pool tasks]), after make_room."""
        self.put_count += 1
        self.queue.put(item)

    def waiting(self) -> int:
        """Images put and not yet delivered."""
        return self.put_count - self.delivered

    def finish(self):
        """Delivers every image put (waiting for their host work), then the thread ends."""
        self.queue.put(None)
        while self.thread.is_alive():
            self.thread.join(0.5)  # with a timeout: an interrupt still reaches the main thread
        if self.error is not None:
            raise self.error

    def _loop(self):
        try:
            while (item := self.queue.get()) is not None:
                self.deliver(*_resolve(self.pool, item))
                self.delivered += 1
                self.room.release()
        except BaseException as err:  # the main thread raises it (deliver reports an image's own errors)
            self.error = err


def _segments(pool, task):
    """The segmentation made by a host process, or None (the model stage then makes it) when no host
    process has started it: on a machine whose cores other work keeps busy, the host processes (in
    the idle class) may not run for a long time, and the model stage waits for nothing else."""
    if task.future.cancel():
        return None
    return pool.result(task)


def _resolve(pool, item):
    """(sample, outcome) of a pending image: its rows once its host work and figures are done (the
    first error of them otherwise)."""
    sample, outcome, tasks = item
    if tasks is None:
        return sample, outcome
    outcomes = [pool.result(task) for task in tasks]
    return sample, next((o for o in outcomes if o[0] == "error"), outcomes[0])
