"""`python prepare_data.py --help`: the command's code is cli/prepare_data.py in the xai_mexculture package."""
import sys

from xai_mexculture.cli.prepare_data import main

if __name__ == "__main__":
    sys.exit(main())
