"""`python report.py OUT`: rebuild the tables, plots, figures and report.html of a run's output
folder from its saved results alone (no model needed); the code is render/rebuild.py in the
xai_mexculture package."""
import sys

from xai_mexculture.render.rebuild import main

if __name__ == "__main__":
    sys.exit(main())
