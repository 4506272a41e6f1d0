"""Exit statuses of main.py and the errors that end in them.

0 every image done with every method; 1 no image done; 2 invalid arguments, a locked or
non-empty output folder, or a problem of the model found before the first image; 3 some images or
methods skipped (errors.csv); 4 an unexpected internal error (traceback in OUT/crash.log); 130
interrupted (Ctrl-C) or 143 stopped by SIGTERM, the images finished so far written (--resume goes on).
"""
EXIT_OK, EXIT_NOTHING_DONE, EXIT_USAGE, EXIT_PARTIAL, EXIT_INTERNAL = 0, 1, 2, 3, 4


class UsageError(Exception):
    """A problem found before the first image: bad arguments, folder or model (exit status 2)."""


class Terminated(KeyboardInterrupt):
    """SIGTERM (a scheduler's time limit, `kill`), raised in the main thread as Ctrl-C is."""


class ImageFailed(Exception):
    """An image whose explanation or scoring failed (the message says why)."""
