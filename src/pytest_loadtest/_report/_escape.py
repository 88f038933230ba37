"""User text made safe for each output: the terminal, CSV cells, junit properties, HTML.

Names of runs, operations and error types, exception messages and SLA scopes come from code we
do not control, and reports also read results rebuilt from ``results.json``, xdist workers and
baseline files, so no writer trusts them (the engine making them safe where they enter is not
enough). What each output gets:

- **one line of text** (:func:`one_line`: a terminal row or note, a junit property name, a CSV
  cell): control characters (C0, DEL, C1), Unicode line and paragraph separators, bidirectional
  overrides (which reorder what a terminal shows), the non-characters U+FFFE/U+FFFF and lone
  surrogates (which no UTF-8 writer accepts) become visible escapes as Python writes them:
  ``\\x1b``, ``\\n``, ``\\t``, ``\\u202e``, ``\\udcff``. The result is also valid XML 1.0 text.
  With a limit, the text is cut to that many characters, the last one ``…``.
- **a block of text** (:func:`block_text`: a message or traceback in the HTML page): the same,
  but line breaks and tabs are kept.
- **a CSV cell** (:func:`csv_text`): one line, and a cell that a spreadsheet would read as a
  formula (first character ``=``, ``+``, ``-``, ``@``, tab or carriage return: OWASP's list) is
  prefixed with ``'``. Only text cells: numbers are written as numbers.

Ordinary text (printable characters, any script) is returned unchanged, so the escaping shows
only where a name or message holds something a terminal, a spreadsheet or an XML parser would
act on.
"""

from __future__ import annotations

import re
from typing import Final

from pytest_loadtest._model._text import safe_str

__all__ = [
    "LINE_LIMIT",
    "NAME_LIMIT",
    "block_text",
    "csv_text",
    "cut",
    "name_text",
    "one_line",
    "xml_text",
]

#: Longest run, operation or error type name shown (characters): one long name would otherwise
#: widen every row of a table.
NAME_LIMIT: Final = 100
#: Longest line of free text shown (an SLA breach, a finding, a CSV cell).
LINE_LIMIT: Final = 1_000

#: Escaped everywhere: bidirectional marks and overrides (they reorder what a terminal shows),
#: line and paragraph separators, the non-characters XML forbids, lone surrogates (no UTF-8
#: encoder takes them), and DEL and the C1 controls (CSI starts terminal sequences).
_ALWAYS: Final = (
    "\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029\ufffe\uffff\ud800-\udfff"
)
#: In one line, every C0 control (ESC, BEL, line breaks, tabs) too ...
_UNSAFE: Final = re.compile(f"[\x00-\x1f{_ALWAYS}]")
#: ... in a block of text, all but line feeds and tabs.
_UNSAFE_IN_BLOCK: Final = re.compile(f"[\x00-\x08\x0b-\x1f{_ALWAYS}]")
_NAMED: Final = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
#: First characters that make a spreadsheet read a cell as a formula (OWASP, CSV injection).
_FORMULA_START: Final = ("=", "+", "-", "@", "\t", "\r")


def _escape(char: str) -> str:
    named = _NAMED.get(char)
    if named is not None:
        return named
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def _as_text(value: object) -> str:
    # str() of an object may raise or return anything; a str is taken as it is (cut later)
    return value if isinstance(value, str) else safe_str(value, None)


def _escaped(text: str, unsafe: re.Pattern[str], limit: int | None) -> str:
    if limit is None:
        return unsafe.sub(lambda match: _escape(match.group()), text)
    limit = max(limit, 1)
    head = text[:limit]  # every character gives at least one: no more is needed
    shown = unsafe.sub(lambda match: _escape(match.group()), head)
    if len(shown) <= limit and len(head) == len(text):
        return shown
    pieces: list[str] = []
    room = limit - 1  # the last character is the ellipsis
    for char in head:
        piece = _escape(char) if unsafe.match(char) else char
        if len(piece) > room:
            break  # an escape is never cut in half
        pieces.append(piece)
        room -= len(piece)
    return "".join(pieces) + "…"


def one_line(text: object, limit: int | None = None) -> str:
    """``text`` as one line that is safe to print and valid in XML: control characters,
    separators, bidirectional overrides and lone surrogates as visible escapes (``\\x1b``,
    ``\\n``, ``\\udcff``); with ``limit``, at most that many characters, ending in ``…`` when
    cut. Idempotent, and the identity on ordinary text."""
    return _escaped(_as_text(text), _UNSAFE, limit)


def block_text(text: object, limit: int | None = None) -> str:
    """Like :func:`one_line`, but line breaks (``\\r\\n`` read as ``\\n``) and tabs are kept: a
    message or traceback shown in full."""
    raw = _as_text(text)
    if "\r" in raw:
        raw = raw.replace("\r\n", "\n")
    return _escaped(raw, _UNSAFE_IN_BLOCK, limit)


def name_text(text: object) -> str:
    """A run, operation or error type name as shown: :func:`one_line` cut to
    :data:`NAME_LIMIT`."""
    return one_line(text, NAME_LIMIT)


def xml_text(text: object, limit: int | None = None) -> str:
    """Text for an XML attribute or element (a junit property): :func:`one_line` already escapes
    every character XML 1.0 forbids (C0 controls, lone surrogates, U+FFFE, U+FFFF)."""
    return one_line(text, limit)


def csv_text(text: object) -> str:
    """A text cell of a CSV file: :func:`one_line` cut to :data:`LINE_LIMIT`, and prefixed with
    ``'`` when a spreadsheet would read it as a formula."""
    shown = one_line(text, LINE_LIMIT)
    return "'" + shown if shown.startswith(_FORMULA_START) else shown


def cut(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, the last one ``…`` (nothing escaped: for text
    that is escaped afterwards, by ``repr`` for instance)."""
    return text if len(text) <= limit else text[: max(limit - 1, 0)] + "…"
