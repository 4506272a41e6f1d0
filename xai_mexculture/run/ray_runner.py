"""The images of a run on a Ray cluster: one actor per worker (one per GPU when the cluster has GPUs),
each loading the model and building the explainers once, explaining and scoring whole images; the
results stream back to the driver, which alone writes the output folder (lock, resume, progress bar
and error reporting as in a plain run).

    python main.py --ray                 # a local Ray instance, --workers actors (default: 2)
    python main.py --ray ray://HOST:10001 --workers 8

Faults: an actor that dies (killed, out of memory, lost node) loses no finished image; the image it
had in flight is retried once on another actor (a replacement actor is started), then reported in
errors.csv. The image files and the model file must be readable at the same paths on every node
(a shared file system); the project's code is shipped to the cluster by Ray.
"""
import collections
import logging
import os
from pathlib import Path

log = logging.getLogger("xai_mexculture")
ROOT = Path(__file__).resolve().parents[2]  # the project (main.py, constants.py and the package), shipped to Ray
RETRIES = 1  # an image whose actor died is tried this many more times


class ImageWorker:
    """Ray actor body: the model and the explainers of one run, built once."""

    def __init__(self, args, keras_backend):
        from xai_mexculture.core import backend
        backend.select_backend(keras_backend)
        from xai_mexculture.run import image_stage
        from xai_mexculture.metrics.causal import CurveScorer
        self.args = args
        self.model = image_stage.load_checked_model(args)
        errors = []
        self.explainers = image_stage.build_explainers(self.model, args, errors)
        self.scorer = CurveScorer(self.model, args.batch_size, args.jit == "on")

    def pid(self) -> int:
        return os.getpid()

    def process(self, sample):
        """("ok", (rows, maps, curves, values, info)) or ("error", message) of one image."""
        from xai_mexculture.run import image_stage
        try:
            rows, maps, image, values, info = image_stage.process_image(sample, self.model, self.args, self.explainers,
                                                                 self.scorer)
            return "ok", (rows, maps, image.curves, values, info)
        except Exception as err:  # reported by the driver like a plain run's failure
            return "error", image_stage.failure(err)


WORKER = ImageWorker  # the actor class (a test replaces it with one that gets killed)


def unreachable(address, timeout=5.0):
    """Why nothing answers at a Ray address (ray://HOST:PORT or HOST:PORT), or None when something
    does (Ray's own connection then waits a minute or more before it fails); other forms ("auto")
    are left to Ray."""
    import socket
    host, sep, port = address.split("://", 1)[-1].rpartition(":")
    if not sep or not host or not port.isdigit():
        return None
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout):
            return None
    except OSError as err:
        return err.strerror or str(err) or type(err).__name__


def start(address=None, workers=None):
    """Connect to Ray (a new local instance when address is None) and return (actor class options,
    number of workers): one GPU per actor when the cluster has GPUs, else an equal share of CPUs."""
    import ray
    env = {"env_vars": {"PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "2"}}
    if address is None:
        if not ray.is_initialized():
            ray.init(include_dashboard=False, log_to_driver=False, runtime_env=env,
                     configure_logging=False)
    else:
        env["working_dir"] = str(ROOT)
        env["excludes"] = ["outputs/", ".venv/", ".git/", "*.keras"]
        ray.init(address=address, runtime_env=env, log_to_driver=False)
    resources = ray.cluster_resources()
    gpus, cpus = int(resources.get("GPU", 0)), max(1, int(resources.get("CPU", 1)))
    if gpus:
        n = workers or gpus
        return dict(num_gpus=1, num_cpus=max(1, cpus // n)), n
    n = workers or 2
    return dict(num_cpus=max(1, cpus // n)), n


def results(args, todo, bar=None, address=None, workers=None):
    """Yield (sample, ("ok", result) | ("error", message)) for every sample of `todo` in the order of
    `todo` (results that arrive early wait for the earlier ones), computed by Ray actors."""
    import ray
    from xai_mexculture.core import backend
    started_here = not ray.is_initialized()
    options, n_workers = start(address, workers)
    remote = ray.remote(max_restarts=0, max_task_retries=0, **options)(WORKER)
    keras_backend = backend.name()
    args_ref = ray.put(args)
    n_workers = max(1, min(n_workers, len(todo)))
    actors = [remote.remote(args_ref, keras_backend) for _ in range(n_workers)]
    replacements_left = n_workers
    queue = collections.deque((i, s, 0) for i, s in enumerate(todo))  # (position, sample, attempt)
    in_flight = {}  # ObjectRef -> (actor, position, sample, attempt)
    finished = {}
    next_out = 0
    idle = list(actors)
    try:
        while queue or in_flight:
            while idle and queue:
                actor = idle.pop()
                position, sample, attempt = queue.popleft()
                in_flight[actor.process.remote(sample)] = (actor, position, sample, attempt)
            ready, _ = ray.wait(list(in_flight), num_returns=1)
            ref = ready[0]
            actor, position, sample, attempt = in_flight.pop(ref)
            try:
                outcome = ray.get(ref)
                idle.append(actor)
            except (ray.exceptions.RayActorError, ray.exceptions.ActorDiedError, ray.exceptions.WorkerCrashedError,
                    ray.exceptions.NodeDiedError) as err:
                log.error("a Ray worker died while on %s: %s", sample.name, str(err).splitlines()[0])
                if replacements_left > 0:
                    replacements_left -= 1
                    idle.append(remote.remote(args_ref, keras_backend))
                if attempt < RETRIES and (idle or in_flight):
                    queue.appendleft((position, sample, attempt + 1))
                    continue
                outcome = ("error", f"the Ray worker died while processing it ({attempt + 1} attempt(s))")
            if not idle and not in_flight and queue:  # every actor is gone
                while queue:
                    p, s, _ = queue.popleft()
                    finished[p] = (s, ("error", "no Ray worker left"))
            finished[position] = (sample, outcome)
            while next_out in finished:
                yield finished.pop(next_out)
                next_out += 1
                if bar is not None:
                    bar.update(1)
    finally:
        for actor in actors + idle:
            try:
                ray.kill(actor)
            except Exception:  # already gone
                pass
        if started_here:
            ray.shutdown()
