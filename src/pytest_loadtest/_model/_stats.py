"""HDR latency histograms folded in batches with numpy.

Values are recorded in nanoseconds (HDR range 1 µs .. 1 h, 3 significant digits: below 1 ms the
resolution is 512 ns); count, min, max, mean and standard deviation are kept exactly beside it.
Recording one value at a time with ``hdrh``'s ``record_value`` costs microseconds; folding a batch
here costs tens of nanoseconds a value: indices are computed with the same bucket arithmetic as
``hdrh`` and added into a zero-copy numpy view of its counts array.
"""

from __future__ import annotations

import base64
import functools
import math
import struct
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, final

import numpy as np
import numpy.typing as npt
from hdrh.histogram import HdrHistogram

__all__ = [
    "HIGHEST_NS",
    "SIGNIFICANT_FIGURES",
    "LatencyHistogram",
]

LOWEST_NS: Final = 1_000
HIGHEST_NS: Final = 3_600_000_000_000  # one hour
SIGNIFICANT_FIGURES: Final = 3
_BLOCK: Final = 65_536

IntArray = npt.NDArray[np.int64]
CountArray = npt.NDArray[np.uint64]


def _new_hdr() -> Any:
    return HdrHistogram(LOWEST_NS, HIGHEST_NS, SIGNIFICANT_FIGURES)


@final
@dataclass(frozen=True, slots=True)
class _Layout:
    unit_magnitude: int
    half_count_magnitude: int
    sub_bucket_mask: int
    counts_len: int
    template: Any

    def indices(self, values_ns: IntArray) -> IntArray:
        """Counts-array index of each value (the arithmetic of ``hdrh``, vectorised)."""
        values = np.minimum(values_ns, HIGHEST_NS)
        masked = (values | self.sub_bucket_mask).astype(np.float64)
        # bit length = the binary exponent of the (exact, < 2**53) float, read from its bits
        bit_length = (masked.view(np.int64) >> 52) - 1022
        bucket = bit_length - self.unit_magnitude - (self.half_count_magnitude + 1)
        sub_bucket = values >> (bucket + self.unit_magnitude)
        result: IntArray = (
            ((bucket + 1) << self.half_count_magnitude)
            + sub_bucket
            - (1 << self.half_count_magnitude)
        )
        return result

    def highest_equivalent_ns(self, index: int) -> int:
        value = self.template.get_value_from_index(index)
        return int(self.template.get_highest_equivalent_value(value))


@functools.cache
def _layout() -> _Layout:
    # Derived once from a real histogram so the arithmetic always matches hdrh's.
    h = _new_hdr()
    return _Layout(
        h.unit_magnitude,
        h.sub_bucket_half_count_magnitude,
        h.sub_bucket_mask,
        h.counts_len,
        h,
    )


def _percentiles_from_counts(counts: CountArray, total: int, qs: Sequence[float]) -> list[int]:
    """HDR percentiles (highest equivalent value, in ns) of a counts array."""
    if total <= 0:
        return [0 for _ in qs]
    layout = _layout()
    cumulative = np.cumsum(counts)
    out = []
    for q in qs:
        target = max(int(min(q, 100.0) / 100.0 * total + 0.5), 1)
        index = int(np.searchsorted(cumulative, target, side="left"))
        out.append(layout.highest_equivalent_ns(min(index, layout.counts_len - 1)))
    return out


@final
class LatencyHistogram:
    """Latencies of many calls: an HDR histogram plus exact count, min, max, mean and stdev."""

    __slots__ = ("_counts", "_hdr", "_m2", "_mean_ns", "count", "max_ns", "min_ns")

    def __init__(self, hdr: Any = None) -> None:
        self._hdr = hdr if hdr is not None else _new_hdr()
        self._counts: CountArray = np.ctypeslib.as_array(self._hdr.counts)
        self.count = 0
        self.min_ns = 0
        self.max_ns = 0
        self._mean_ns = 0.0
        self._m2 = 0.0

    # -- recording ---------------------------------------------------------------------------
    def fold_ns(self, durations_ns: IntArray) -> None:
        """Add a batch of durations in nanoseconds."""
        n = int(durations_ns.size)
        if n == 0:
            return
        layout = _layout()
        # Blocks keep numpy's temporaries in cache: one pass over 500k values at once is
        # several times slower, spent in page faults of its large temporaries.
        for begin in range(0, n, _BLOCK):
            block = durations_ns[begin : begin + _BLOCK]
            binned = np.bincount(layout.indices(block))
            self._counts[: binned.size] += binned.astype(np.uint64)
            mean = float(block.mean())
            deviation = block - mean
            # not np.dot: on a long block OpenBLAS hands the product to threads of its own,
            # which then spin waiting for more work and took a core's fifth from the users
            m2 = float(np.square(deviation, out=deviation).sum())
            self._merge_moments(int(block.size), int(block.min()), int(block.max()), mean, m2)

    def _merge_moments(self, n: int, lo: int, hi: int, mean: float, m2: float) -> None:
        # Chan et al.'s parallel update keeps the variance exact without cancellation.
        if self.count == 0:
            self.min_ns, self.max_ns = lo, hi
            self._mean_ns, self._m2 = mean, m2
        else:
            self.min_ns = min(self.min_ns, lo)
            self.max_ns = max(self.max_ns, hi)
            total = self.count + n
            delta = mean - self._mean_ns
            self._mean_ns += delta * n / total
            self._m2 += m2 + delta * delta * self.count * n / total
        self.count += n
        self._sync_hdr()

    def _sync_hdr(self) -> None:
        # hdrh's encoder reads these fields; keep them true to the counts.
        self._hdr.total_count = self.count
        self._hdr.min_value = min(self.min_ns, HIGHEST_NS)
        self._hdr.max_value = min(self.max_ns, HIGHEST_NS)

    def clear(self) -> None:
        """Forget every value: the histogram is as new (its memory is reused, not freed)."""
        self._counts.fill(0)
        self.count = self.min_ns = self.max_ns = 0
        self._mean_ns = self._m2 = 0.0
        self._sync_hdr()

    def add(self, other: LatencyHistogram) -> None:
        """Merge ``other`` into this histogram."""
        if other.count == 0:
            return
        self._counts += other._counts
        self._merge_moments(other.count, other.min_ns, other.max_ns, other._mean_ns, other._m2)

    # -- reading -----------------------------------------------------------------------------
    def percentiles_ms(self, qs: Sequence[float]) -> list[float]:
        """Latency at each percentile (0..100) in ms; HDR precision, clamped to exact min/max."""
        if self.count == 0:
            return [math.nan for _ in qs]
        values = _percentiles_from_counts(self._counts, self.count, qs)
        lo, hi = self.min_ns / 1e6, self.max_ns / 1e6
        # HDR gives the top of a value's bucket; the extremes are known exactly
        return [
            lo if q <= 0 else hi if q >= 100 else min(max(v / 1e6, lo), hi)
            for q, v in zip(qs, values, strict=True)
        ]

    def percentile_ms(self, q: float) -> float:
        """Latency at one percentile in ms."""
        return self.percentiles_ms([q])[0]

    @property
    def mean_ms(self) -> float:
        """Exact mean in ms (``nan`` when empty)."""
        return self._mean_ns / 1e6 if self.count else math.nan

    @property
    def stdev_ms(self) -> float:
        """Exact population standard deviation in ms (``nan`` when empty)."""
        return math.sqrt(self._m2 / self.count) / 1e6 if self.count else math.nan

    @property
    def min_ms(self) -> float:
        """Exact minimum in ms (``nan`` when empty)."""
        return self.min_ns / 1e6 if self.count else math.nan

    @property
    def max_ms(self) -> float:
        """Exact maximum in ms (``nan`` when empty)."""
        return self.max_ns / 1e6 if self.count else math.nan

    def distribution(self) -> list[tuple[float, float]]:
        """``(percentile, ms)`` pairs along HDR's percentile ladder, for charts."""
        ladder = [0, 10, 25, 50, 75, 90, 95, 97.5, 99, 99.5, 99.9, 99.95, 99.99, 99.999, 100]
        return list(zip(ladder, self.percentiles_ms(ladder), strict=True))

    # -- encoding ----------------------------------------------------------------------------
    def to_sparse(self) -> dict[str, object]:
        """The counts that are not zero and the exact moments: small, cheap to take (tens of
        microseconds) and exact. JSON-ready; :meth:`from_sparse` is its inverse."""
        indices = np.flatnonzero(self._counts)
        return {
            "indices": indices.tolist(),
            "counts": self._counts[indices].tolist(),
            **self._moments(),
        }

    def _moments(self) -> dict[str, object]:
        """The exact count, extremes, mean and sum of squared deviations (every encoding's)."""
        return {
            "count": self.count,
            "min_ns": self.min_ns,
            "max_ns": self.max_ns,
            "mean_ns": self._mean_ns,
            "m2": self._m2,
        }

    @classmethod
    def from_sparse(cls, data: Mapping[str, Any]) -> LatencyHistogram:
        """Inverse of :meth:`to_sparse`; ``ValueError`` when the data are not such counts."""
        hist = cls()
        try:
            indices = np.asarray(data["indices"], dtype=np.int64)
            counts = np.asarray(data["counts"], dtype=np.uint64)
            hist._counts[indices] = counts
            hist.count = int(data["count"])
            hist.min_ns = int(data["min_ns"])
            hist.max_ns = int(data["max_ns"])
            hist._mean_ns = float(data["mean_ns"])
            hist._m2 = float(data["m2"])
        except (KeyError, TypeError, ValueError, IndexError, OverflowError) as exc:
            raise ValueError(f"not sparse latency counts: {exc}") from None
        if int(hist._counts.sum()) != hist.count:
            raise ValueError("sparse latency counts do not add up to their total")
        if hist.count:
            hist._sync_hdr()
        return hist

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form: HDR's compressed base64 encoding plus the exact moments."""
        return {"hdr": self._hdr.encode().decode("ascii") if self.count else "", **self._moments()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LatencyHistogram:
        """Inverse of :meth:`to_dict`; ``ValueError`` naming the field when the data are not a
        histogram this module could have written (wrong types, counts out of range, a
        negative ``m2``, ``max_ns`` below ``min_ns``, an HDR encoding of other parameters)."""
        if not isinstance(data, Mapping):
            raise ValueError(f"not an encoded latency histogram: {type(data).__name__}")
        try:
            encoded = data["hdr"]
            count, min_ns, max_ns = (_int_field(data, key) for key in ("count", "min_ns", "max_ns"))
            mean_ns, m2 = _float_field(data, "mean_ns"), _float_field(data, "m2")
        except KeyError as exc:
            raise ValueError(f"not an encoded latency histogram: missing field {exc}") from None
        if not isinstance(encoded, str):
            raise ValueError(f"histogram field 'hdr' is {type(encoded).__name__}, not a string")
        if m2 < 0:
            raise ValueError(f"histogram field 'm2' = {m2!r}: a sum of squares cannot be negative")
        if count and max_ns < min_ns:
            raise ValueError(f"histogram field 'max_ns' = {max_ns} is below 'min_ns' = {min_ns}")
        slack = 1e-6 * max_ns + 1.0  # the mean is a float: allow its rounding
        if count and not min_ns - slack <= mean_ns <= max_ns + slack:
            raise ValueError(f"histogram field 'mean_ns' = {mean_ns!r} lies outside min_ns..max_ns")
        if encoded:
            _check_hdr_encoding(encoded)
        try:
            hist = cls(HdrHistogram.decode(encoded.encode("ascii")) if encoded else None)
        except Exception as exc:  # hdrh raises its own exception types for corrupt payloads
            raise ValueError(f"corrupt HDR histogram encoding: {exc}") from None
        hist.count, hist.min_ns, hist.max_ns = count, min_ns, max_ns
        hist._mean_ns, hist._m2 = mean_ns, m2
        if int(hist._counts.sum()) != hist.count:
            raise ValueError("HDR histogram counts do not match its recorded total")
        if hist.count:
            hist._sync_hdr()
        return hist


#: Counts and nanoseconds are int64 in HDR and numpy: anything above cannot be real.
_MAX_INT: Final = 2**63 - 1
#: An encoding of this module's histograms decompresses to a header plus at most 9 bytes a
#: count; a larger payload is corrupt (or a zip bomb) and is refused before it is inflated.
_MAX_HDR_TEXT: Final = 1 << 20


def _show(value: object) -> str:
    """A value for a message, cut short (a corrupt file may hold anything, of any size)."""
    if isinstance(value, int) and abs(value) > 10**30:
        return f"an integer of {value.bit_length()} bits"
    text = repr(value)
    return text if len(text) <= 40 else text[:39] + "…"


def _int_field(data: Mapping[str, Any], key: str) -> int:
    value = data[key]
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(
            f"histogram field {key!r} is {type(value).__name__} {_show(value)}, not an integer"
        )
    if not 0 <= value <= _MAX_INT:
        raise ValueError(f"histogram field {key!r} = {_show(value)} is outside 0..2**63-1")
    return value


def _float_field(data: Mapping[str, Any], key: str) -> float:
    value = data[key]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(
            f"histogram field {key!r} is {type(value).__name__} {_show(value)}, not a number"
        )
    number = float(value) if not isinstance(value, int) or abs(value) <= _MAX_INT else math.inf
    if not math.isfinite(number):
        raise ValueError(f"histogram field {key!r} = {_show(value)} is not a finite number")
    return number


def _check_hdr_encoding(encoded: str) -> None:
    """Refuse, before ``hdrh`` allocates anything, an encoding that is too long, inflates too
    far or was made with other parameters than :func:`_new_hdr` (its counts would not fit)."""
    if len(encoded) > _MAX_HDR_TEXT:
        raise ValueError(
            f"histogram field 'hdr' is {len(encoded)} characters long, more than any histogram"
        )
    try:
        raw = base64.b64decode(encoded.encode("ascii"), validate=True)
        inflater = zlib.decompressobj()
        payload = inflater.decompress(raw[8:], _MAX_HDR_TEXT)
    except (ValueError, zlib.error) as exc:  # binascii.Error is a ValueError
        raise ValueError(f"corrupt HDR histogram encoding: {exc}") from None
    if inflater.unconsumed_tail:
        raise ValueError("corrupt HDR histogram encoding: it inflates beyond any histogram")
    if len(payload) < 40:
        raise ValueError("corrupt HDR histogram encoding: truncated header")
    significant, lowest, highest = struct.unpack(">12xIQQ8x", payload[:40])
    if (significant, lowest, highest) != (SIGNIFICANT_FIGURES, LOWEST_NS, HIGHEST_NS):
        raise ValueError(
            f"HDR histogram of other parameters ({lowest}..{highest} ns, {significant} digits)"
        )
