"""The command-line parsers' shared parts (main.py, train.py, merge.py, report.py): the --help
formatter and a parser whose usage errors are one line and a pointer to --help."""
import argparse


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """--help with each flag's default, unless it is None or off (the help text then says what
    happens)."""

    def _get_help_string(self, action):
        if action.default is None or action.default is False:  # not `in (None, False)`: 0 == False
            return action.help
        return super()._get_help_string(action)


class ArgumentParser(argparse.ArgumentParser):
    """argparse's parser, but a usage error is the problem in one line and where to read the usage
    ("main.py: error: --step must be >= 1 (see python main.py --help)"), exit status 2, instead of
    the whole usage (about 40 lines for main.py) printed before it."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see python {self.prog} --help)\n")
