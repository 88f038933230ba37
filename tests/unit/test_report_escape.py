"""Output escaping of user text: one line for terminals, blocks for the page, CSV cells, XML."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from xml.sax.saxutils import quoteattr

import pytest

from pytest_loadtest._report._escape import (
    LINE_LIMIT,
    NAME_LIMIT,
    block_text,
    csv_text,
    cut,
    name_text,
    one_line,
    xml_text,
)

ORDINARY = [
    "ping",
    "create_client",
    "GET /api/v1/products/{id}?page=2",
    "cap @ 10 users",
    "café µs ≤ 5ms — 注文 🛒",
    "a \\n that is already text",
    "",
]


@pytest.mark.parametrize("text", ORDINARY)
def test_ordinary_text_is_unchanged(text: str) -> None:
    assert one_line(text) == text
    assert block_text(text) == text
    assert name_text(text) == text
    assert csv_text(text) == text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("\x1b[31mred\x1b[0m", "\\x1b[31mred\\x1b[0m"),
        ("bell\x07", "bell\\x07"),
        ("two\nlines", "two\\nlines"),
        ("crlf\r\n", "crlf\\r\\n"),
        ("tab\there", "tab\\there"),
        ("nul\x00 del\x7f csi\x9b", "nul\\x00 del\\x7f csi\\x9b"),
        ("conf-\udcff.toml", "conf-\\udcff.toml"),
        ("abc\u202edcba", "abc\\u202edcba"),
        ("isolate\u2066x\u2069", "isolate\\u2066x\\u2069"),
        ("para\u2028graph\u2029", "para\\u2028graph\\u2029"),
        ("non\ufffechar\uffff", "non\\ufffechar\\uffff"),
    ],
)
def test_one_line_shows_control_characters_as_escapes(text: str, expected: str) -> None:
    assert one_line(text) == expected
    assert one_line(expected) == expected  # idempotent: escaping twice changes nothing


def test_block_text_keeps_line_breaks_and_tabs() -> None:
    text = 'Traceback:\r\n  File "x.py"\n\tValueError: \x1b[2J\x07 \r gone'
    assert block_text(text) == 'Traceback:\n  File "x.py"\n\tValueError: \\x1b[2J\\x07 \\r gone'


def test_a_long_name_is_cut_with_an_ellipsis() -> None:
    shown = name_text("n" * 100_000)
    assert len(shown) == NAME_LIMIT
    assert shown == "n" * (NAME_LIMIT - 1) + "…"
    assert name_text("n" * NAME_LIMIT) == "n" * NAME_LIMIT


def test_the_bound_counts_escapes_and_never_cuts_one_in_half() -> None:
    shown = one_line("\x1b" * 50, 10)
    assert shown == "\\x1b\\x1b…"
    assert len(one_line("\x07" * 10_000, LINE_LIMIT)) <= LINE_LIMIT
    assert one_line("abc", 1) == "…"


def test_objects_whose_str_raises_are_described() -> None:
    class Bad:
        def __str__(self) -> str:
            raise RuntimeError("no")

    assert one_line(Bad()) == "<Bad object: str() raised RuntimeError>"
    assert one_line(12) == "12"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('=HYPERLINK("http://x","click")', '\'=HYPERLINK("http://x","click")'),
        ("+1", "'+1"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "\\t=1"),  # a tab is shown as an escape: the cell no longer starts with it
        ("a=1", "a=1"),
        ("=" * 5_000, "'" + "=" * (LINE_LIMIT - 1) + "…"),
    ],
)
def test_csv_text_guards_formulas(text: str, expected: str) -> None:
    assert csv_text(text) == expected


#: The characters XML 1.0 allows (its production ``Char``).
XML_CHARS = re.compile("[\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]*")


def test_one_line_output_is_valid_xml_for_every_character() -> None:
    # the whole Basic Multilingual Plane (every character one_line escapes is in it)
    assert XML_CHARS.fullmatch(xml_text("".join(map(chr, range(0x10000))) + "\U0001f6d2"))
    hostile = xml_text("".join(map(chr, range(0x100))) + "\ud800\udcff\ufffe\uffff")
    root = ET.fromstring(f"<p name={quoteattr(hostile)}>{quoteattr(hostile)}</p>")
    assert root.get("name") == hostile
    hostile.encode("utf-8")  # no lone surrogate left


def test_cut_leaves_the_text_alone_otherwise() -> None:
    assert cut("\x1b" * 5, 3) == "\x1b\x1b…"
    assert cut("abc", 3) == "abc"
