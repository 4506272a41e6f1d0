"""Explain a MexCulture classifier with the registered saliency methods and score every map against
human gaze and against the model: `python main.py --help`, docs/reading-a-run.md.

The code lives in the xai_mexculture package; this file is the seed's entry point.

    python main.py                       # bundled demo data and model, the seed's four methods
    python main.py --backend jax         # the same numbers on Keras' JAX backend
"""
import sys

from xai_mexculture.cli.main import main  # noqa: F401  (main(argv) -> exit status)

if __name__ == "__main__":
    sys.exit(main())
