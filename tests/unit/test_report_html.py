"""``index.html`` and ``write_report``: files, tables, charts, SLA lines, escaping, the extra."""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from pytest_loadtest._model._result import LoadResult
from pytest_loadtest._model._sla import parse_sla
from pytest_loadtest._report._charts import figures
from pytest_loadtest._report._html import (
    MISSING_EXTRA,
    load_chart_library,
    render_html,
    script_json,
)
from pytest_loadtest._report._view import views
from pytest_loadtest._report._write import REPORT_FILES, charts_note, write_report

from helpers.report_samples import (
    HOSTILE,
    broken_step_result,
    catalog_result,
    hostile_result,
    synthetic_result,
)


class Page(HTMLParser):
    """What a browser's parser sees: scripts with their content, text, elements by class."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.scripts: list[tuple[dict[str, str | None], str]] = []
        self.text: list[str] = []
        self.classes: list[str] = []
        self.tags: list[str] = []
        self.csp = ""
        self._script: dict[str, str | None] | None = None
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        found = dict(attrs)
        self.classes.extend((found.get("class") or "").split())
        if tag == "script":
            self._script = found
            self.scripts.append((found, ""))
        if found.get("http-equiv") == "Content-Security-Policy":
            self.csp = found.get("content") or ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._script = None

    def handle_data(self, data: str) -> None:
        if self._script is not None:
            attrs, content = self.scripts[-1]
            self.scripts[-1] = (attrs, content + data)
        else:
            self.text.append(data)


@pytest.fixture(scope="module")
def results() -> list[LoadResult]:
    return [synthetic_result(), hostile_result()]


@pytest.fixture(scope="module")
def directory(tmp_path_factory: pytest.TempPathFactory, results: list[LoadResult]) -> Path:
    target = tmp_path_factory.mktemp("session") / "nested" / "report"
    written = write_report(target, results, metadata={"args": HOSTILE})
    assert written == [target / name for name in REPORT_FILES]
    return target


@pytest.fixture(scope="module")
def page(directory: Path) -> Page:
    return Page((directory / "index.html").read_text(encoding="utf-8"))


def _figures(page: Page) -> dict[str, Any]:
    return {
        str(attrs["id"]): json.loads(content)
        for attrs, content in page.scripts
        if attrs.get("type") == "application/json"
    }


def test_every_file_is_written(directory: Path) -> None:
    assert sorted(p.name for p in directory.iterdir()) == sorted(REPORT_FILES)


def test_other_files_in_the_directory_are_kept(tmp_path: Path) -> None:
    (tmp_path / "screenshot.png").write_bytes(b"png")
    (tmp_path / "results.json").write_text("old", encoding="utf-8")
    write_report(tmp_path, [synthetic_result(seconds=3)])
    assert (tmp_path / "screenshot.png").read_bytes() == b"png"
    assert json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))["results"]


def test_summary_table_and_one_section_per_result(page: Page, results: list[LoadResult]) -> None:
    text = " ".join(page.text)
    assert page.classes.count("result") == len(results)
    assert "tests/test_shop.py::test_shop [shop]" in "".join(page.text)  # <wbr> splits it
    assert page.classes.count("fail") >= 1
    assert "FAIL" in text
    assert "PASS" in text
    assert "payment service did not answer within 2s" in text
    for operation in ("browse", "list", "open", "checkout", "login"):
        assert operation in page.text
    assert "p99.9" in page.text  # the per-target SLA table


def test_four_charts_per_result_and_resources_when_sampled(
    page: Page, results: list[LoadResult]
) -> None:
    def kinds(result: LoadResult) -> list[str]:
        sampled = ["resources"] if result.resources else []
        return ["latency", "throughput", "users", *sampled, "distribution"]

    assert any(r.resources for r in results), "an engine run samples its process"
    assert not all(r.resources for r in results), "a built result has no samples"
    assert page.classes.count("chart") == sum(len(kinds(r)) for r in results)
    data = _figures(page)
    assert sorted(data) == sorted(
        f"figure-{i}-{kind}" for i, result in enumerate(results) for kind in kinds(result)
    )
    sampled = next(i for i, r in enumerate(results) if r.resources)
    cpu, rss = data[f"figure-{sampled}-resources"]["series"]
    assert cpu["label"] == "process CPU %"
    assert rss["axis"] == "y2"
    assert len(rss["values"]) == len(results[sampled].resources["samples"])  # type: ignore[index]
    latency = data["figure-0-latency"]
    assert [s["label"] for s in latency["series"][:3]] == ["p50", "p95", "p99"]
    assert len(latency["series"][1]["values"]) == len(results[0].timeline)
    assert len(latency["xs"]) == len(results[0].timeline)


def _lines(figure: dict[str, Any]) -> set[tuple[str, float]]:
    return {(line["axis"], line["y"]) for line in figure["sla"]}


def test_sla_thresholds_are_drawn(page: Page) -> None:
    data = _figures(page)
    assert ("y", 40.0) in _lines(data["figure-0-latency"])  # p95 target, ms
    assert ("y", 80.0) in _lines(data["figure-0-latency"])  # p99
    assert ("y", 100.0) in _lines(data["figure-0-throughput"])  # throughput_min, calls/s
    assert ("y2", 1.0) in _lines(data["figure-0-throughput"])  # error_rate, % on the 2nd axis
    markers = {(round(m["x"]), m["y"]): m["label"] for m in data["figure-0-distribution"]["sla"]}
    assert markers == {
        (20, 40.0): "p95 ≤ 40.0ms",  # p95 at x=1/(1-0.95)
        (100, 80.0): "p99 ≤ 80.0ms",
        (20, 60.0): "p95 ≤ 60.0ms (checkout)",
        (1000, 150.0): "p99.9 ≤ 150.0ms (checkout)",
    }


def test_axes_are_scaled_to_the_data_and_a_higher_sla_is_a_marker_at_the_edge() -> None:
    result = synthetic_result(seconds=20)
    result.sla = parse_sla({"p95": "5s", "p99": "80ms", "error_rate": "50%"})
    [view] = views([result])
    built = figures(view)
    latency = built["latency"]
    shown = [v for s in latency["series"] if s["show"] for v in s["values"] if v is not None]
    # the axis ends just above the data (~250ms), not at the 5s SLA line
    assert max(shown) < latency["y"]["max"] <= max(shown) * 1.2
    lines = {line["y"]: line["off"] for line in latency["sla"]}
    assert lines == {5000.0: True, 80.0: False}
    throughput = built["throughput"]
    assert throughput["y2"]["max"] < 50.0
    assert [line["off"] for line in throughput["sla"]] == [True]


def test_one_sla_label_per_distinct_threshold() -> None:
    result = synthetic_result(seconds=5)
    same = {"p95": "1s"}
    result.sla = parse_sla(
        {**same, "operations": {n: same for n in ("browse", "list", "open", "checkout")}}
    )
    [view] = views([result])
    markers = figures(view)["distribution"]["sla"]
    assert [m["label"] for m in markers] == ["p95 ≤ 1.00s (all calls, browse +3)"]


def test_a_partial_last_window_is_left_out_of_rate_series_and_the_chart_says_so() -> None:
    result = synthetic_result(seconds=10)
    result.duration = 9.4  # the last window (t=9) covers 0.4s of 1s
    [view] = views([result])
    built = figures(view)
    throughput = built["throughput"]
    assert throughput["xs"] == [float(t) for t in range(9)]
    assert "the last 400.0ms of the run" in throughput["note"]
    assert "left out of the per-second series" in throughput["note"]
    assert len(built["latency"]["xs"]) == 10  # percentiles of a short window still stand
    page = render_html([view], {}, charts=None)
    assert "left out of the per-second series" not in page  # no charts, no note
    full = synthetic_result(seconds=10)
    assert figures(views([full])[0])["throughput"]["note"] == ""


def test_few_samples_are_drawn_as_points() -> None:
    """A capacity step of a second or two has one or two resource samples: a line through one
    point is not drawn at all, so they get markers."""
    result = catalog_result()
    [view] = views([result])
    cpu = figures(view)["resources"]["series"][0]
    assert cpu["points"] is True


def test_test_ids_break_only_between_their_parts() -> None:
    result = synthetic_result(
        seconds=3, test_id="tests/load_testing/test_x.py::test_work[work / flow]"
    )
    page = render_html(views([result]), {}, charts=None)
    assert "break-all" not in page
    assert "tests/<wbr>load_testing/<wbr>test_x.py::<wbr>test_work<wbr>[work / flow]" in page


def test_distribution_has_a_log_percentile_axis(page: Page, results: list[LoadResult]) -> None:
    figure = _figures(page)["figure-0-distribution"]
    assert figure["x"]["log"] is True
    assert "99.999%" in [label for _, label in figure["x"]["ticks"]]
    pairs = dict(results[0].histogram.distribution())
    curve = figure["series"][0]
    assert curve["label"] == "all calls"
    assert figure["xs"][-1] == pytest.approx(100.0 / (100.0 - 99.999))
    assert curve["values"][-1] == pytest.approx(pairs[99.999])
    names = {s["label"] for s in figure["series"]}
    assert {"all calls", "browse", "checkout", "list", "open"} <= names


def test_user_text_is_text_not_markup(directory: Path, page: Page) -> None:
    raw = (directory / "index.html").read_text(encoding="utf-8")
    assert HOSTILE not in raw
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in raw
    # the parser sees the hostile strings as text (test id, operation, message, metadata) ...
    assert sum(HOSTILE in chunk for chunk in page.text) >= 4
    # ... and no script element but the page's own: capture, uPlot, render, figure data
    own = [attrs for attrs, _ in page.scripts if attrs.get("type") != "application/json"]
    assert len(own) == (3 if load_chart_library() is not None else 2)
    for _, content in page.scripts:
        assert "alert(1)</script" not in content


def test_figure_data_is_safe_inside_a_script_element(page: Page) -> None:
    for attrs, content in page.scripts:
        if attrs.get("type") == "application/json":
            assert "<" not in content
            assert ">" not in content
    names = [s["label"] for s in _figures(page)["figure-1-distribution"]["series"]]
    assert any("<script>alert(1)</script>" in name for name in names)  # text, set as text


@pytest.mark.parametrize("text", ["</script><script>x()</script>", "<!--", "a\u2028b", "&amp;"])
def test_script_json_round_trips(text: str) -> None:
    encoded = script_json({"name": text})
    assert not re.search(r"[<>&\u2028\u2029]", encoded)
    assert json.loads(encoded) == {"name": text}


def test_content_security_policy_allows_exactly_the_page_scripts(page: Page) -> None:
    allowed = set(re.findall(r"'sha256-([^']+)'", page.csp))
    own = [c for attrs, c in page.scripts if attrs.get("type") != "application/json"]
    hashes = {base64.b64encode(hashlib.sha256(c.encode()).digest()).decode() for c in own}
    assert hashes == allowed
    assert "unsafe-inline" not in page.csp.split("script-src")[1]


def test_chart_library_is_inlined_once(directory: Path, page: Page) -> None:
    library = load_chart_library()
    if library is None:
        pytest.skip("uplot-python (pytest-loadtest[report]) is not installed")
    raw = (directory / "index.html").read_text(encoding="utf-8")
    assert raw.count(library.script[:300]) == 1
    assert raw.count(library.style[:200]) == 1
    # nothing fetched: works offline, opened from disk
    assert all("src" not in attrs for attrs, _ in page.scripts)
    assert not {"link", "img", "iframe"} & set(page.tags)


def test_without_the_extra_tables_are_written_and_the_page_says_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = importlib.util.find_spec

    def no_uplot(name: str, package: str | None = None) -> Any:
        return None if name.startswith("uplot") else real(name, package)

    monkeypatch.setattr(importlib.util, "find_spec", no_uplot)
    assert load_chart_library() is None
    written = write_report(tmp_path, [synthetic_result(seconds=5)])
    assert [p.name for p in written] == list(REPORT_FILES)
    page = Page((tmp_path / "index.html").read_text(encoding="utf-8"))
    assert "chart" not in page.classes
    assert "notice" in page.classes
    assert any(MISSING_EXTRA in chunk for chunk in page.text)
    assert "checkout" in page.text  # the tables are still there


def test_charts_note(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    note = charts_note()
    assert note is not None
    assert "pip install 'pytest-loadtest[report]'" in note


def test_no_results_gives_a_page_that_says_so(tmp_path: Path) -> None:
    write_report(tmp_path, [])
    page = Page((tmp_path / "index.html").read_text(encoding="utf-8"))
    assert "No load test ran." in page.text


def test_figures_tolerate_missing_keys() -> None:
    """A result dict from another plugin version: absent keys leave charts empty, not broken."""
    [view] = views([synthetic_result(seconds=3)])
    for key in ("sla", "settings", "timeline", "operations", "duration"):
        view.data.pop(key)
    built = figures(view)
    assert set(built) == {"latency", "throughput", "users", "distribution"}
    assert built["latency"]["xs"] == []
    assert render_html([view], {}, charts=None).startswith("<!DOCTYPE html>")


def test_a_broken_capacity_step_is_a_finding_not_a_failure() -> None:
    result = broken_step_result()
    assert result.sla_breaches  # the abort
    page = render_html(views([result]), {}, charts=None)
    badges = re.findall(r'<span class="badge (\w+)"[^>]*>([^<]*)</span>', page)
    # the summary table, the section header and the target it missed: "BROKE", never "FAIL"
    assert badges == [("broke", "BROKE"), ("broke", "BROKE"), ("broke", "BROKE"), ("pass", "PASS")]


def test_no_python_repr_on_the_page() -> None:
    page = render_html(views([broken_step_result(), synthetic_result()]), {}, charts=None)
    text = "".join(Page(page).text)
    assert "aborted at 1.1s of 12s (abort_on_breach)" in text  # the prose, once
    assert text.count("aborted at 1.1s") == 1
    for repr_mark in ("{'", "['", "': ", "None", "<pytest_loadtest", "object at 0x"):
        assert repr_mark not in text
