"""Subprocesses that get real SIGINTs."""

from __future__ import annotations

import signal

__all__ = ["sigint_default"]


def sigint_default() -> None:
    """``preexec_fn`` of a subprocess that must take SIGINT as Ctrl-C: a process started from a
    non-interactive shell's background job inherits SIGINT ignored, and Python then installs no
    KeyboardInterrupt handler (``scripts/noisy-check &`` ran the whole suite so)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
