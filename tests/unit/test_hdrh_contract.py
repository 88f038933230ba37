"""The contract with ``hdrh`` (package hdrhistogram, pinned ``>=0.10.7,<0.11``): every part of
its internals that ``_model/_stats.py`` and ``_baseline/_entry.py`` rely on, checked against the
installed version, so that a release in the range that changes one of them fails here first.

What we use beyond its documented API: the ``counts`` ctypes array (viewed through numpy and
written directly), the layout fields ``unit_magnitude``, ``sub_bucket_half_count_magnitude``,
``sub_bucket_mask`` and ``counts_len`` (our vectorised index arithmetic), the ``total_count``,
``min_value`` and ``max_value`` fields (written, then read by the encoder), and the layout of the
V2 encoding's header (read before decoding to refuse foreign parameters).
"""

from __future__ import annotations

import base64
import zlib

import numpy as np
import pytest
from hdrh.histogram import HdrHistogram

from pytest_loadtest._model._stats import (
    HIGHEST_NS,
    LOWEST_NS,
    SIGNIFICANT_FIGURES,
    LatencyHistogram,
    _check_hdr_encoding,
    _layout,
)

#: Values across the whole range: each bucket's edges, and the clamp at the highest value.
VALUES = sorted(
    {
        *(int(v) for v in np.geomspace(LOWEST_NS, HIGHEST_NS, 400)),
        *(2**k for k in range(10, 41)),
        *(2**k - 1 for k in range(11, 41)),
        LOWEST_NS,
        HIGHEST_NS,
    }
)

#: An encoding made by hdrhistogram 0.10.8 of 1.5µs, 20µs, 3ms and 150ms: the format must stay.
GOLDEN = "HISTFAAAACp4nJNpmSzMwMDAxQABzFDqBRC7GexYwGD/ASrC5M4034zpbxQTAJ55B70="
GOLDEN_VALUES = [1_500, 20_000, 3_000_000, 150_000_000]


def _new() -> HdrHistogram:
    return HdrHistogram(LOWEST_NS, HIGHEST_NS, SIGNIFICANT_FIGURES)


def test_layout_fields_exist_and_match_the_counts_array() -> None:
    hdr = _new()
    for name in ("unit_magnitude", "sub_bucket_half_count_magnitude", "sub_bucket_mask"):
        assert isinstance(getattr(hdr, name), int), name
    assert len(hdr.counts) == hdr.counts_len
    view = np.ctypeslib.as_array(hdr.counts)
    assert view.shape == (hdr.counts_len,)
    assert view.dtype.itemsize == 8  # 64-bit counts: what our uint64 folding adds into


def test_our_vectorised_index_is_hdrh_own_index_for_every_value() -> None:
    layout = _layout()
    ours = layout.indices(np.array(VALUES, dtype=np.int64))
    hdr = _new()
    theirs = [hdr._counts_index_for(v) for v in VALUES]
    assert ours.tolist() == theirs


def test_counts_written_through_the_numpy_view_are_what_hdrh_reads() -> None:
    hdr = _new()
    view = np.ctypeslib.as_array(hdr.counts)
    index = hdr._counts_index_for(5_000_000)
    view[index] += 3
    hdr.total_count, hdr.min_value, hdr.max_value = 3, 5_000_000, 5_000_000
    assert hdr.get_count_at_value(5_000_000) == 3
    assert hdr.values_are_equivalent(hdr.get_value_at_percentile(50), 5_000_000)


def test_value_from_index_and_highest_equivalent_value_bound_each_bucket() -> None:
    layout = _layout()
    hdr = _new()
    for value in VALUES:
        index = int(layout.indices(np.array([value], dtype=np.int64))[0])
        highest = layout.highest_equivalent_ns(index)
        assert hdr.get_lowest_equivalent_value(value) <= value <= highest
        assert hdr.values_are_equivalent(value, highest)


def test_our_histogram_encodes_like_one_hdrh_recorded_itself() -> None:
    ours = LatencyHistogram()
    ours.fold_ns(np.array(VALUES, dtype=np.int64))
    theirs = _new()
    for value in VALUES:
        theirs.record_value(value)
    decoded = HdrHistogram.decode(str(ours.to_dict()["hdr"]).encode("ascii"))
    assert decoded.get_total_count() == theirs.get_total_count() == len(VALUES)
    assert decoded.get_min_value() == theirs.get_min_value()
    assert decoded.get_max_value() == theirs.get_max_value()
    for q in (1, 50, 90, 99, 99.9, 100):
        assert decoded.get_value_at_percentile(q) == theirs.get_value_at_percentile(q)


def test_the_encoding_header_is_where_we_read_it() -> None:
    hdr = _new()
    hdr.record_value(42_000)
    encoded = hdr.encode().decode("ascii")
    _check_hdr_encoding(encoded)  # our header reading accepts hdrh's own encoding
    payload = zlib.decompress(base64.b64decode(encoded)[8:])
    other = HdrHistogram(1, HIGHEST_NS, 2)
    other.record_value(42_000)
    with pytest.raises(ValueError, match="other parameters"):
        _check_hdr_encoding(other.encode().decode("ascii"))
    assert len(payload) >= 40


def test_an_encoding_of_an_earlier_release_still_decodes() -> None:
    restored = LatencyHistogram.from_dict(
        {"hdr": GOLDEN, "count": 4, "min_ns": 1_500, "max_ns": 150_000_000}
        | {"mean_ns": 38_255_375.0, "m2": 1.66551055366875e16}
    )
    again = LatencyHistogram()
    again.fold_ns(np.array(GOLDEN_VALUES, dtype=np.int64))
    assert restored.percentiles_ms([25, 50, 75, 100]) == again.percentiles_ms([25, 50, 75, 100])
    assert again.to_dict()["hdr"] == GOLDEN
