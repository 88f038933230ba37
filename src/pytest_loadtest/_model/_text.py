"""Text that comes from user code, made safe once where it enters.

Names of tasks and steps, exception messages and tracebacks come from code we do not control: an
exception's ``__str__`` may raise or return something that is not a string, and any of them may
hold lone surrogates (``os.fsdecode(b"conf-\\xff.toml")``) that no UTF-8 writer accepts. Everything
the engine keeps of user text goes through :func:`safe_text` or :func:`describe_exception`, so
that every later writer (terminal, JSON, CSV, junit, xdist's channel) sees valid text.
"""

from __future__ import annotations

import traceback
from typing import Final

__all__ = ["MAX_MESSAGE", "describe_exception", "operation_label", "safe_str", "safe_text"]

#: Longest exception message or traceback kept (characters): one error must not fill the memory
#: or the report.
MAX_MESSAGE: Final = 10_000


def safe_text(text: str, limit: int | None = None) -> str:
    """``text`` with lone surrogates written as ``\\udcff`` escapes (valid UTF-8 everywhere),
    cut to ``limit`` characters (marked with ``…``) when given."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    if limit is not None and len(text) > limit:
        text = text[: max(limit - 1, 0)] + "…"
    return text


def safe_str(value: object, limit: int | None = MAX_MESSAGE) -> str:
    """``str(value)`` made safe: an object whose ``__str__`` raises (or returns a non-string) is
    described by its type instead."""
    try:
        text = str(value)
    except Exception as exc:  # __str__ raising is the user's bug; the run must go on
        return safe_text(
            f"<{type(value).__name__} object: str() raised {type(exc).__name__}>", limit
        )
    return safe_text(text, limit)


def describe_exception(exc: BaseException) -> tuple[str, str, str]:
    """``(type name, message, traceback)`` of an exception, each safe text."""
    name = safe_text(type(exc).__name__, 200)
    message = safe_str(exc)
    try:
        formatted = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    except Exception:  # format_exception calls __str__ too
        formatted = "".join(traceback.format_tb(exc.__traceback__)) + f"{name}: {message}\n"
    return name, message, safe_text(formatted, MAX_MESSAGE)


def operation_label(name: str, kind: str | None = None) -> str:
    """An operation as every presentation names it: ``login (hook)``, ``list (step)``, a task
    by its name alone; characters that a terminal would act on shown as escapes."""
    shown = "".join(c if c.isprintable() else repr(c)[1:-1] for c in name)
    return f"{shown} ({kind})" if kind in ("hook", "step") else shown
