"""Explain a MexCulture classifier with the registered saliency methods (Grad-CAM, FEM, RISE, LIME,
...) and score every map with the registered metrics: against human gaze (PCC, SIM, KLD, NSS,
AUC-Judd) and against the model (Insertion, Deletion AUC).

    python main.py                       # bundled demo data and model, the seed's four methods
    python main.py --test_images_folder_path data/mexculture142/images_test \
        --test_gdfm_folder_path data/mexculture142/gazefixationsdensitymaps \
        --fixations_folder_path data/mexculture142/fixations \
        --scanpaths_folder_path data/mexculture142/scanpaths \
        --model_path models/mexculture_resnet50.keras       # the layout prepare_data.py writes
    python main.py --backend jax         # the same numbers on Keras' JAX backend

Outputs (under --output_dir, default a new outputs/run-YYYYmmdd-HHMMSS): results.csv (one row per
image x method, written as each image finishes), summary.md / summary.csv (mean ± std per method),
comparisons.csv (paired Wilcoxon tests), maps/*.npy, figures/ (per image), plots/ (the run),
report.html (one page to read the run), inputs/, gfdm/, curves/ (what the figures need, so that
`python report.py OUT` redraws them without the model), errors.csv (skipped images and why),
manifest.json; with --sanity also sanity.csv and sanity.png (metrics/sanity.py).

Exit status: 0 every image done with every method; 1 no image done; 2 invalid arguments, a locked or
non-empty output folder, or a problem of the model found before the first image; 3 some images or
methods skipped (errors.csv); 4 an unexpected internal error (traceback in OUT/crash.log); 130
interrupted (Ctrl-C) or 143 stopped by SIGTERM, the images finished so far written (--resume goes on).
"""
import contextlib
import logging
import os
import sys
from pathlib import Path

from xai_mexculture.core import backend
from xai_mexculture.core import data
from xai_mexculture.run import exits
from xai_mexculture.run import options
from xai_mexculture.run import run_folder
from xai_mexculture.run import runner

log = logging.getLogger("xai_mexculture")


def _fail(status, message) -> int:
    print(f"error: {message}", file=sys.stderr)
    return status


def main(argv=None) -> int:
    """Run the command line; returns the exit status (see the module docstring)."""
    from xai_mexculture.core import runlock
    if "tensorflow" not in sys.modules:  # TensorFlow's C++ start-up chatter, before it is loaded
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    logging.getLogger("absl").setLevel(logging.ERROR)
    logging.getLogger("jax").setLevel(logging.WARNING)
    try:
        backend.select_backend(options.pre_parse_backend(argv))
    except (RuntimeError, ValueError) as err:
        return _fail(exits.EXIT_USAGE, err)
    args = options.parse_args(argv)
    try:
        args.samples = data.pair_samples(args.test_images_folder_path, args.test_gdfm_folder_path,
                                         args.fixations_folder_path)[:args.n_images]
    except OSError as err:
        return _fail(exits.EXIT_USAGE, err)
    if not args.samples:
        return _fail(exits.EXIT_USAGE, f"no images in {args.test_images_folder_path}")
    n_all = len(args.samples)
    args.samples = options.shard_samples(args.samples, args.shard)
    if not args.samples:
        return _fail(exits.EXIT_USAGE, f"--shard {args.shard[0]}/{args.shard[1]}: no image in this shard ({n_all} images "
                                 f"in all; use at most {n_all} shards)")
    out_dir = None
    existed = args.output_dir is not None and Path(args.output_dir).exists()
    try:
        out_dir = run_folder.output_folder(args)
        with runlock.RunLock(out_dir), _terminate_as_interrupt():
            try:
                return runner.run(args, out_dir)
            except exits.UsageError:
                raise
            except KeyboardInterrupt as err:  # what was finished is written (results.csv is per image)
                import signal
                signum = signal.SIGTERM if isinstance(err, exits.Terminated) else signal.SIGINT
                print(f"interrupted ({signum.name}): the images finished so far are in "
                      f"{(out_dir / 'results.csv').resolve()}; the same command with --resume finishes the run",
                      file=sys.stderr)
                return 128 + signum
            except Exception:  # an unexpected internal error: keep the traceback
                import traceback
                crash = out_dir / "crash.log"
                crash.write_text(traceback.format_exc())
                print(f"internal error: {traceback.format_exc().strip().splitlines()[-1]}\n"
                      f"the traceback is in {crash.resolve()}", file=sys.stderr)
                return exits.EXIT_INTERNAL
    except (exits.UsageError, runlock.FolderLocked) as err:
        if not existed:
            run_folder.remove_if_unused(out_dir)
        return _fail(exits.EXIT_USAGE, err)
    except runlock.FolderUnwritable as err:  # a read-only folder or file system: no lock, nothing written
        return _fail(exits.EXIT_USAGE, f"--output_dir {err}" if args.output_dir is not None else err)


@contextlib.contextmanager
def _terminate_as_interrupt():
    """SIGTERM raises Terminated (a KeyboardInterrupt) in the main thread while the run lasts, so a
    run stopped by a scheduler or `kill` ends as after Ctrl-C: the finished images written, the lock
    released, the host processes stopped."""
    import signal
    import threading
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum, frame):
        raise exits.Terminated()
    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    sys.exit(main())
