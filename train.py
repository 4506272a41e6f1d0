"""`python train.py --help`: transfer-learn a classifier; the code is cli/train.py in the
xai_mexculture package."""
from xai_mexculture.cli.train import parse_args, train

if __name__ == "__main__":
    train(parse_args())
