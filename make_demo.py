"""`python make_demo.py`: rebuild the bundled demo data and model; the code is cli/make_demo.py in
the xai_mexculture package."""
from xai_mexculture.cli.make_demo import main

if __name__ == "__main__":
    main()
