"""The HTML report opened in headless Chromium: charts drawn, no script error, user text inert,
verdicts that agree with pytest, no Python repr, SLA labels that do not overlap, a light page.

Drives Chromium's own command line (``--dump-dom``, ``--screenshot``): no driver package needed.
Skipped when Chromium is not installed (Debian: ``apt-get install -y chromium``) or the
``report`` extra (uplot-python, which ships uPlot) is missing. Set
``LOADTEST_SCREENSHOT_COPY=docs/report-screenshot.png`` to copy the screenshot there (how the
README picture is made).
"""

from __future__ import annotations

import itertools
import os
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from pytest_loadtest._model._result import LoadResult
from pytest_loadtest._model._sla import parse_sla
from pytest_loadtest._report._html import load_chart_library
from pytest_loadtest._report._terminal import failure_message
from pytest_loadtest._report._write import REPORT_FILES, write_report

from helpers.report_samples import (
    HOSTILE,
    HOSTILE_IMG,
    broken_step_result,
    catalog_result,
    hostile_result,
    synthetic_result,
)

CHROMIUM = next(
    (
        found
        for name in ("chromium", "chromium-browser", "google-chrome")
        if (found := shutil.which(name))
    ),
    None,
)

pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="Chromium is not installed (Debian: apt-get install -y chromium); "
    "the HTML report is checked in a real browser only where it is",
)

_TIMEOUT = 120.0


class Dom(HTMLParser):
    """The rendered DOM as Chromium serialises it: elements, classes and text."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.body: dict[str, str | None] = {}
        self.tags: list[str] = []
        self.classes: list[str] = []
        self.text: list[str] = []
        self.errors_text = ""
        self.boxes: list[tuple[str, tuple[int, ...]]] = []  # ("u-over" | "sla-label", box)
        self.headings: list[str] = []  # each section's <h2>, as text
        self.badges: list[tuple[int, str]] = []  # (section: 0 the summary, 1 the first), text
        self._in_badge = False
        self._in_errors = False
        self._in_heading = False
        self._hidden = 0  # inside <script>, <style>
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        self.tags.append(tag)
        self.classes.extend((found.get("class") or "").split())
        if tag == "body":
            self.body = found
        self._in_errors = found.get("id") == "report-errors"
        classes = (found.get("class") or "").split()
        box = found.get("data-box")
        if box is not None:
            kind = "sla-label" if "sla-label" in classes else "u-over"
            self.boxes.append((kind, tuple(int(v) for v in box.split(","))))
        if tag == "h2":
            self._in_heading = True
            self.headings.append("")
        self._in_badge = "badge" in classes
        if tag in ("script", "style"):
            self._hidden += 1

    def handle_endtag(self, tag: str) -> None:
        self._in_errors = False
        if tag == "h2":
            self._in_heading = False
        if tag in ("script", "style"):
            self._hidden -= 1

    def handle_data(self, data: str) -> None:
        if self._hidden:
            return
        self.text.append(data)
        if self._in_heading:
            self.headings[-1] += data
        if self._in_badge:
            self.badges.append((len(self.headings), data))
            self._in_badge = False
        if self._in_errors:
            self.errors_text += data


def _chromium(*args: str, profile: Path) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    command = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",  # CI runs as root, where Chromium's sandbox refuses to start
        "--disable-gpu",
        "--disable-dev-shm-usage",  # containers often have a tiny /dev/shm
        "--no-first-run",
        "--hide-scrollbars",
        f"--user-data-dir={profile}",
        "--enable-logging=stderr",
        "--v=0",
        "--virtual-time-budget=15000",  # let every chart finish before the page is read
        *args,
    ]
    return subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=_TIMEOUT,
        check=False,
        stdin=subprocess.DEVNULL,
    )


def crowded_result() -> LoadResult:
    """Five latency targets above the data, close to one another: five SLA labels that would
    all sit at the top edge of the charts."""
    result = synthetic_result(seconds=8, test_id="tests/test_shop.py::test_crowded")
    result.name = "crowded"
    targets = {"p95": "5s", "p99": "5.2s", "max": "5.4s", "mean": "5.6s", "p50": "5.8s"}
    ops = {"browse": {"p95": "5.1s"}, "checkout": {"p95": "5.3s"}, "list": {"p99": "5.5s"}}
    result.sla = parse_sla({**targets, "operations": ops})
    result.sla_breaches = result.evaluate_sla()
    return result


@pytest.fixture(scope="module")
def results() -> list[LoadResult]:
    return [
        synthetic_result(),
        catalog_result(),
        broken_step_result(),
        crowded_result(),
        hostile_result(),
    ]


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory, results: list[LoadResult]) -> Path:
    pytest.importorskip("uplot", reason="the report extra (pytest-loadtest[report]) is missing")
    directory = tmp_path_factory.mktemp("browser") / "report"
    write_report(directory, results)
    return directory


@pytest.fixture(scope="module")
def dom(report: Path, tmp_path_factory: pytest.TempPathFactory) -> Dom:
    profile = tmp_path_factory.mktemp("profile")
    done = _chromium("--dump-dom", (report / "index.html").as_uri(), profile=profile)
    assert done.returncode == 0, done.stderr[-2000:]
    console = [line for line in done.stderr.splitlines() if ":CONSOLE" in line]
    assert console == []  # uncaught errors and CSP refusals are logged here
    return Dom(done.stdout)


def test_charts_render_without_script_errors(report: Path, dom: Dom) -> None:
    assert dom.body.get("data-report-ready") == "1"
    assert dom.errors_text == ""
    # four charts per result, and one of the process's resources for the two engine runs
    charts = (report / "index.html").read_text().count('<div class="chart" data-kind=')
    assert charts == 5 * 4 + 2
    assert dom.body.get("data-charts-rendered") == str(charts)
    assert dom.classes.count("uplot") == charts
    assert dom.tags.count("canvas") >= charts
    assert dom.classes.count("sla-label") >= 10  # SLA thresholds, labelled


def test_verdicts_agree_with_pytest(results: list[LoadResult], dom: Dom) -> None:
    """A section's badge says FAIL exactly when pytest fails the test on that result (a broken
    capacity step passes: its badge says BROKE)."""
    assert len(dom.headings) == len(results)
    summary = [text for section, text in dom.badges if section == 0]
    assert len(summary) == len(results)
    for i, result in enumerate(results):
        fails = bool(failure_message([result]))
        heading = dom.headings[i]
        assert (heading.split()[-1] == "FAIL") == fails, (heading, fails)
        assert (summary[i] == "FAIL") == fails, (summary[i], fails)
        # nor a FAIL badge anywhere in the section of a test that passes
        section = [text for at, text in dom.badges if at == i + 1]
        assert fails or "FAIL" not in section, (heading, section)
    assert dom.headings[2].endswith("BROKE")


def test_no_python_repr_on_the_page(dom: Dom) -> None:
    text = "".join(dom.text)
    assert not re.search(r"\{'\w+': |\[\{'|object at 0x|<pytest_loadtest\.|\bNone\b", text)


def test_sla_labels_neither_overlap_nor_leave_their_chart(dom: Dom) -> None:
    plot: tuple[int, ...] | None = None
    labels: list[tuple[int, ...]] = []
    for kind, box in dom.boxes:
        if kind == "u-over":
            plot = box
            continue
        assert plot is not None
        left, top, width, height = box
        assert width > 0
        assert height > 0
        # inside the plot area of its chart (1px of rounding)
        assert left >= plot[0] - 1, (box, plot)
        assert left + width <= plot[0] + plot[2] + 1, (box, plot)
        assert top >= plot[1] - 1, (box, plot)
        assert top + height <= plot[1] + plot[3] + 1, (box, plot)
        labels.append(box)
    assert len(labels) >= 10
    for a, b in itertools.combinations(labels, 2):
        apart = (
            a[0] + a[2] <= b[0] or b[0] + b[2] <= a[0] or a[1] + a[3] <= b[1] or b[1] + b[3] <= a[1]
        )
        assert apart, f"SLA labels overlap: {a} and {b}"


def test_the_page_is_light(report: Path, results: list[LoadResult]) -> None:
    """The chart library is a small part of the page; the page of these five runs (a minute of
    one of them) is far under the 1.5 MB that the example suite's twenty tests must stay under."""
    library = load_chart_library()
    assert library is not None
    assert len(library.script.encode()) < 200_000  # uPlot 1.6, unminified as uplot-python ships it
    size = (report / "index.html").stat().st_size
    assert size < 1_500_000 * len(results) / 20


def test_user_text_stays_text_in_the_browser(dom: Dom) -> None:
    assert "img" not in dom.tags
    assert "data-pwned" not in dom.body
    text = "".join(dom.text)
    assert HOSTILE in text
    assert HOSTILE_IMG in text


def test_screenshot(report: Path, tmp_path: Path) -> None:
    shot = report / "screenshot.png"
    done = _chromium(
        "--window-size=1400,1600",
        f"--screenshot={shot}",
        (report / "index.html").as_uri(),
        profile=tmp_path / "profile",
    )
    assert done.returncode == 0, done.stderr[-2000:]
    data = shot.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    assert len(data) > 20_000
    assert sorted(p.name for p in report.iterdir()) == sorted([*REPORT_FILES, "screenshot.png"])
    copy_to = os.environ.get("LOADTEST_SCREENSHOT_COPY")
    if copy_to:
        shutil.copyfile(shot, copy_to)
