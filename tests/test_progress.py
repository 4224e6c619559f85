"""Progress bars: drawn on a terminal with count, rate and ETA, erased at the end; absent elsewhere."""
from __future__ import annotations

import io

from ssrec import progress
from ssrec.progress import bar_line


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_terminal_gets_a_bar_that_is_erased_at_the_end(monkeypatch):
    monkeypatch.setattr(progress, "REDRAW_SECONDS", 0.0)
    screen = Terminal()
    assert list(progress.progress(range(5), 5, "epoch 1/3", stream=screen)) == [0, 1, 2, 3, 4]
    text = screen.getvalue()
    assert "\repoch 1/3 [" in text and "5/5" in text and "ETA 0:00" in text
    assert text.endswith("\r\033[K"), "the bar is erased so the epoch's log line starts clean"


def test_no_bar_off_a_terminal_or_when_disabled():
    plain = io.StringIO()
    assert list(progress.progress(range(3), 3, "x", stream=plain)) == [0, 1, 2]
    assert plain.getvalue() == ""
    screen = Terminal()
    progress.enable(False)
    try:
        assert list(progress.progress(range(3), 3, "x", stream=screen)) == [0, 1, 2]
    finally:
        progress.enable(True)
    assert screen.getvalue() == ""


def test_bar_text_states_count_rate_and_eta():
    assert bar_line("pretrain epoch 2/10", 25, 100, 5.0, width=10) == \
        "pretrain epoch 2/10 [##........] 25/100  5.0/s  ETA 0:15"
    assert bar_line("x", 0, 10, 0.0, width=4).endswith("ETA --:--")


def test_quiet_turns_bars_off_for_that_command_only(tmp_path):
    from ssrec.cli import main

    assert main(["-q", "plugins"]) == 0
    screen = Terminal()
    list(progress.progress(range(2), 2, "after a quiet command", stream=screen))
    assert "after a quiet command" in screen.getvalue()
