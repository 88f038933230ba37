"""Checks of settings that need more than the settings package knows: the detectors' names and
thresholds belong to the monitor, which the settings package must not import. Light: the monitor
is imported only when detectors are given."""

from __future__ import annotations

from collections.abc import Mapping

from pytest_loadtest._settings._layers import SettingError, check_layer
from pytest_loadtest._settings._settings import LoadSettings

__all__ = ["check_layer_deeply", "check_settings"]


def _check_detectors(source: str, detectors: object) -> None:
    """``SettingError`` unless the monitor knows every detector and threshold named."""
    if not detectors:
        return
    from pytest_loadtest._monitor import build_rules

    try:
        build_rules(detectors)  # type: ignore[arg-type]
    except ValueError as exc:
        shown = repr(detectors)
        if len(shown) > 80:
            shown = f"{shown[:60]}...({len(shown)} characters)"
        raise SettingError(f"{source}: invalid detectors={shown}: {exc}") from None


def check_layer_deeply(source: str, values: Mapping[str, object]) -> dict[str, object]:
    """:func:`check_layer`, and the detectors' names and thresholds checked by the monitor
    (the settings package checks their shape only): what a marker is checked with."""
    parsed = check_layer(source, values)
    _check_detectors(source, parsed.get("detectors"))
    return parsed


def check_settings(settings: LoadSettings) -> LoadSettings:
    """``settings``, once the monitor has accepted their detectors."""
    _check_detectors(settings.sources.get("detectors", "detectors"), settings.detectors)
    return settings
