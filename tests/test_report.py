import random
import sys
from datetime import timedelta

import numpy as np
import pytest
from seeding import NOW, ordinary_traffic, queue_spike, session_at, verdict

from triage.cli import main

PNG = b"\x89PNG\r\n\x1a\n"
CHARTS = [
    "volume.png",
    "departments.png",
    *(f"confusion_{h}.png" for h in ("category", "department", "kind")),
]


def seed(url: str) -> None:
    """Three weeks of traffic, most of it closed, some of it verified, then the queue spike."""
    pick = random.Random(3)
    with session_at(url) as session:
        rows = ordinary_traffic(session, days=21, per_day=1.0)
        for t in rows:
            if pick.random() < 0.6:
                t.status, t.closed_at = "closed", t.created_at + timedelta(hours=pick.randrange(2, 200))
            if pick.random() < 0.3:
                wrong = pick.random() < 0.2
                category = "tax" if wrong and t.category != "tax" else t.category
                t.corrections.append(
                    verdict(
                        "category" if category != t.category else "",
                        predicted=dict(t.labels),
                        **{**t.labels, "category": category},
                    )
                )
        session.commit()
        queue_spike(session)


@pytest.fixture()
def seeded(database_url, tmp_path, monkeypatch, tiny_model_dir):
    monkeypatch.setenv("TRIAGE_DATABASE_URL", database_url)
    monkeypatch.setenv("TRIAGE_MODEL", str(tiny_model_dir))  # the report follows its heads
    monkeypatch.setenv("TRIAGE_INSTANCE_DIR", str(tmp_path / "instance"))
    seed(database_url)
    return database_url


def test_report_renders_real_charts(seeded, tmp_path, capsys):
    out = tmp_path / "report"
    day = NOW.date()
    assert main(["report", "--from", str(day - timedelta(days=20)), "--to", str(day), "--out", str(out)]) == 0
    assert str(out / "report.html") in capsys.readouterr().out
    page = (out / "report.html").read_text(encoding="utf-8")
    from matplotlib.image import imread

    for name in CHARTS:
        png = out / name
        assert f"src='{name}'" in page
        assert png.read_bytes()[:8] == PNG and png.stat().st_size > 10_000, name
        rgba = (imread(png) * 255).astype(np.uint32)
        colours = np.unique(rgba[..., 0] << 24 | rgba[..., 1] << 16 | rgba[..., 2] << 8 | rgba[..., 3])
        assert len(colours) > 10, name  # not blank
    # The hotspot table names the spike with its words; the accuracy table has its sample.
    assert "queue_waiting 排队等候与窗口服务" in page and "现场号" in page
    assert "verified tickets" in page


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from", "2026-11-30", "--to", "2026-11-01"], "is after --to"),
        (["--from", "30/11/2026", "--to", "2026-12-01"], "--from must be a date"),
        (["--from", "2026-11-01", "--to", "2026-02-30"], "--to must be a date"),
    ],
)
def test_bad_dates_exit_with_one_sentence(args, message, tmp_path, capsys):
    assert main(["report", *args, "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1
    assert not (tmp_path / "r").exists()


def test_without_matplotlib_the_png_commands_say_so_in_one_sentence(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # as if the optional extra were not installed
    day = "2026-11-20"
    assert main(["report", "--from", day, "--to", day, "--out", str(tmp_path / "r")]) == 1
    err = capsys.readouterr().err
    assert "matplotlib" in err and "pip install 'triage[report]'" in err and "Traceback" not in err
    assert not (tmp_path / "r").exists()
