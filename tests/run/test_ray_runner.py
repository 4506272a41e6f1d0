"""The Ray runner: a local Ray instance with 2 workers gives the plain run's numbers; a worker
killed mid-image loses nothing (the image is retried once on another worker, then reported)."""
import os
import signal
import sys

import pytest
import ray
from fake_run import result_rows
from test_run_folder import _args, make_folder, tiny_model

from xai_mexculture.cli import main
from xai_mexculture.run import exits
from xai_mexculture.run import ray_runner


@pytest.fixture(scope="module")
def cluster():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False,
             runtime_env={"env_vars": {"PYTHONPATH": str(ray_runner.ROOT), "TF_CPP_MIN_LOG_LEVEL": "2"}})
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def four(tmp_path_factory):
    root = tmp_path_factory.mktemp("four")
    imgs, gfdms, names = make_folder(root, 4)
    return dict(root=root, imgs=imgs, gfdms=gfdms, names=names, model=tiny_model(root / "tiny.keras"))


EXTRA = ["--explanation_method", "GRADCAM,RISE", "--rise_masks", "32", "--references", "CENTER"]


@pytest.fixture(scope="module")
def plain(four, tmp_path_factory):
    """The plain run's result rows (read only), which every Ray run is held to."""
    out = tmp_path_factory.mktemp("plain") / "plain"
    assert main.main(_args(four, out, *EXTRA)) == 0
    return result_rows(out / "results.csv")


def test_two_ray_workers_give_the_plain_numbers(cluster, four, plain, tmp_path):
    on_ray = tmp_path / "ray"
    assert main.main(_args(four, on_ray, *EXTRA, "--ray", "--workers", "2")) == 0
    assert result_rows(on_ray / "results.csv") == plain  # same rows, same order
    assert (on_ray / "summary.md").exists() and len(list((on_ray / "maps").glob("*.npy"))) == 4 * 3


class Killed(ray_runner.ImageWorker):
    """Killed (SIGKILL) on the image named in `die_on`; only once when `once` is a marker file path."""
    die_on, once = None, None

    def process(self, sample):
        if sample.name == self.die_on and (self.once is None or not os.path.exists(self.once)):
            if self.once is not None:
                open(self.once, "w").close()
            os.kill(os.getpid(), signal.SIGKILL)
        return super().process(sample)


@pytest.fixture()
def killed(monkeypatch):
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    monkeypatch.setattr(ray_runner, "WORKER", Killed)
    yield Killed
    ray.cloudpickle.unregister_pickle_by_value(sys.modules[__name__])


def test_a_worker_killed_mid_image_loses_nothing(cluster, four, plain, tmp_path, killed):
    killed.die_on, killed.once = four["names"][1], str(tmp_path / "killed-once")
    out = tmp_path / "out"
    assert main.main(_args(four, out, *EXTRA, "--ray", "--workers", "2")) == 0
    assert os.path.exists(killed.once)  # a worker was killed ...
    assert result_rows(out / "results.csv") == plain  # ... and its image retried


def test_an_image_that_kills_every_worker_is_reported(cluster, four, tmp_path, killed, capsys):
    killed.die_on, killed.once = four["names"][2], None
    out = tmp_path / "out"
    assert main.main(_args(four, out, *EXTRA, "--ray", "--workers", "2")) == exits.EXIT_PARTIAL
    images = {r["image"] for r in result_rows(out / "results.csv")}
    assert images == set(four["names"]) - {four["names"][2]}
    errors = (out / "errors.csv").read_text()
    assert four["names"][2] in errors and "Ray worker died" in errors and "2 attempt(s)" in errors
    assert (out / "summary.md").exists()
