"""Not on track and the relapse CUSUM watch for a rise: a higher-is-better instrument (DIALOG) is refused there."""

from __future__ import annotations

import pytest

from idiograph.monitoring import settings as monitoring_settings


@pytest.mark.parametrize(
    ("section", "message"),
    [
        # expected-recovery models exist for PHQ-9 and GAD-7 only: refused before direction is asked
        ("not_on_track", "'dialog': expected-recovery models exist for phq-9 and gad-7"),
        ("relapse", "relapse.instruments: dialog is scored higher-is-better"),
    ],
)
def test_a_higher_is_better_instrument_cannot_be_watched_for_a_rise(monkeypatch, tmp_path, section, message) -> None:  # type: ignore[no-untyped-def]
    shipped = monitoring_settings.DEFAULT.read_text(encoding="utf-8")
    lines = shipped.split("\n")
    start = lines.index(f"{section}:")
    at = next(i for i in range(start, len(lines)) if lines[i].strip().startswith("instruments:"))
    lines[at] = lines[at].replace("[phq-9, gad-7]", "[phq-9, gad-7, dialog]")
    assert lines[at].endswith("dialog]")
    path = tmp_path / "monitoring.yaml"
    path.write_text("\n".join(lines), encoding="utf-8")
    monkeypatch.setenv("IDIOGRAPH_MONITORING_SETTINGS", str(path))
    monitoring_settings.load.cache_clear()
    try:
        with pytest.raises(ValueError, match=message):
            monitoring_settings.load()
    finally:
        monkeypatch.delenv("IDIOGRAPH_MONITORING_SETTINGS")
        monitoring_settings.load.cache_clear()


def test_the_shipped_settings_watch_symptom_scores_only() -> None:
    s = monitoring_settings.load()
    assert "dialog" not in s.not_on_track.instruments and "dialog" not in s.relapse.instruments
