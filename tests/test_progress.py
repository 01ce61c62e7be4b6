"""Progress: the engine reports its stages; the command line draws bars only on a terminal."""

from __future__ import annotations

import fcntl
import io
import os
import select
import struct
import termios

from triage.cli import main
from triage.cli.progress import progress_bars
from triage.engine.training import build_model


def test_fit_reports_segmentation_and_every_fold(tiny_data, settings):
    heard: dict[str, list[tuple[int, int]]] = {}
    model = build_model(settings, cv=3).fit(
        tiny_data.items, tiny_data.labels, progress=lambda s, d, t: heard.setdefault(s, []).append((d, t))
    )
    n = len(tiny_data.items) + sum(h["name_rows"] for h in model.card()["heads"].values())  # names too
    assert heard["segmenting"][-1] == (n, n)
    for head in tiny_data.labels:
        assert heard[f"cross-validating {head}"] == [(1, 3), (2, 3), (3, 3)]


def test_bars_are_drawn_on_a_terminal_only():
    pipe = io.StringIO()
    with progress_bars(pipe) as progress:
        progress("segmenting", 10, 20)
    assert pipe.getvalue() == ""

    leader, follower = os.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # a 100-column terminal
    with open(follower, "w", encoding="utf-8") as tty, progress_bars(tty) as progress:
        progress("segmenting", 10, 20)
        tty.flush()
        ready, _, _ = select.select([leader], [], [], 5)
        drawn = os.read(leader, 4096).decode() if ready else ""
    os.close(leader)
    assert "segmenting" in drawn and "/20" in drawn and "%|" in drawn


def test_commands_stay_quiet_in_a_pipe(tiny_csv, tmp_path, capsys):
    assert main(["train", "--data", str(tiny_csv), "--out", str(tmp_path / "m")]) == 0
    err = capsys.readouterr().err
    assert "Training on" in err and "%|" not in err and "\r" not in err
