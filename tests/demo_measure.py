"""demo_checks.measure (the demo model on the bundled split, RISE at the defaults included) in a
process of its own: tests/conftest.py's session fixture `demo_measured` runs

    python tests/demo_measure.py OUT

beside the suite, in Linux's idle class, and tests/cli/test_demo_checks.py reads OUT/measured.npz."""
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main(out):
    from xai_mexculture.run import pipeline  # imports no Keras
    pipeline.lowest_priority()  # as a host process (its threads, made later, inherit the class)
    import numpy as np
    import constants
    from xai_mexculture.cli import demo_checks
    from xai_mexculture.core import model_io
    measured = demo_checks.measure(model_io.load_model(constants.DEMO_MODEL), demo_checks.load_split())
    np.savez(Path(out) / "measured.npz", **{k: np.asarray(v) for k, v in measured.items()})


if __name__ == "__main__":
    main(sys.argv[1])
