"""Progress bars: one finished line in summary mode, nothing from bars that vanish, an error for a bad mode."""
from __future__ import annotations

import pytest

from clipmg_lib.core.progress import MODE_ENV, SummaryBar, progress_bar


def test_summary_mode_prints_one_finished_line_per_kept_bar(monkeypatch, capsys):
    monkeypatch.setenv(MODE_ENV, "summary")
    bar = progress_bar(range(15), desc="epoch 1/12", unit="batch")
    assert isinstance(bar, SummaryBar)
    assert sum(1 for _ in bar) == 15
    for _ in progress_bar(range(4), desc="eval", leave=False):
        pass
    with progress_bar(total=10, desc="caching", unit="clip") as manual:
        manual.update(6)
    out = capsys.readouterr()
    assert out.out.splitlines() == ["epoch 1/12: 15/15 batch in 00:00", "caching: 6/10 clip in 00:00"]
    assert out.err == ""


def test_off_mode_and_disabled_bars_print_nothing(monkeypatch, capsys):
    monkeypatch.setenv(MODE_ENV, "off")
    assert list(progress_bar(range(3), desc="x")) == [0, 1, 2]
    monkeypatch.setenv(MODE_ENV, "summary")
    assert list(progress_bar(range(3), desc="y", disable=True)) == [0, 1, 2]
    out = capsys.readouterr()
    assert out.out == "" and out.err == ""


def test_unknown_mode_is_an_error_naming_the_variable(monkeypatch):
    monkeypatch.setenv(MODE_ENV, "quiet")
    with pytest.raises(ValueError, match=f"{MODE_ENV}='quiet'"):
        progress_bar(range(3))
