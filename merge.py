"""`python merge.py OUT_1 ... OUT_K --output_dir OUT`: combine the output folders of a sharded run
(--shard INDEX/COUNT); the code is run/merge.py in the xai_mexculture package."""
import sys

from xai_mexculture.run.merge import main

if __name__ == "__main__":
    sys.exit(main())
