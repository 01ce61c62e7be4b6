"""Installable anywhere: the wheel, installed into a fresh virtual environment outside the
checkout, serves from an empty folder with its state under the user's data folder."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import sysconfig
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from paths import PROJECT_ROOT
from serving import free_port

pytestmark = pytest.mark.slow


def _tree(folder: Path) -> dict[str, float]:
    """Every file under ``folder`` with its modification time (what changed, what appeared)."""
    if not folder.exists():
        return {}
    return {str(p.relative_to(folder)): p.stat().st_mtime for p in folder.rglob("*") if p.is_file()}


def _checkout_state() -> dict[str, float]:
    return {
        f"{part}/{name}": mtime
        for part in ("models", "instance")
        for name, mtime in _tree(PROJECT_ROOT / part).items()
    }


def _dependencies(target: Path) -> None:
    """The project's installed dependencies, seen by the fresh environment through a .pth file:
    one link per top-level entry of this environment's site-packages, leaving out this project
    itself (its editable install), so pip must install the wheel and resolve its requirements
    against them, offline."""
    here = Path(sysconfig.get_paths()["purelib"])
    target.mkdir()
    for entry in here.iterdir():
        name = entry.name.lower()
        if name.startswith(("triage", "__editable__", "_triage", "__pycache__")) or name.endswith(".pth"):
            continue
        (target / entry.name).symlink_to(entry)


def _get(url: str) -> tuple[int, bytes, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, r.read(), r.url
    except urllib.error.HTTPError as e:
        return e.code, e.read(), url


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with the wheel built from this checkout installed in it; returns its bin/."""
    root = tmp_path_factory.mktemp("wheel")
    dist = root / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(PROJECT_ROOT), "--no-deps", "-q", "-w", str(dist)],
        check=True,
        cwd=root,
    )
    (wheel,) = dist.glob("triage-*.whl")
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    site = Path(
        subprocess.run(
            [str(venv / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    _dependencies(root / "deps")
    (site / "project-deps.pth").write_text(str(root / "deps") + "\n")
    pip = [str(venv / "bin" / "python"), "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "install", "--no-index", str(wheel)], check=True, cwd=root)
    subprocess.run([*pip, "check"], check=True, cwd=root)  # every requirement of the wheel is met
    return venv / "bin"


def test_the_installed_wheel_serves_from_an_empty_folder(installed, tiny_model_dir, tmp_path):
    bin_dir = installed
    where = "import triage, pathlib; print(pathlib.Path(triage.__file__).parent)"
    site = Path(
        subprocess.run(
            [str(bin_dir / "python"), "-c", where],
            check=True,
            capture_output=True,
            text=True,
            cwd=tmp_path,
        ).stdout.strip()
    )
    assert site.parent.name == "site-packages" and PROJECT_ROOT not in site.parents
    before_site, before_checkout = _tree(site), _checkout_state()

    empty, home, data_home = tmp_path / "empty", tmp_path / "home", tmp_path / "xdg"
    for folder in (empty, home, data_home):
        folder.mkdir()
    port = free_port()
    env = {
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "HOME": str(home),
        "XDG_DATA_HOME": str(data_home),
        "TRIAGE_MODEL": str(tiny_model_dir),
        "TRIAGE_OPEN_INTAKE": "true",
        "LANG": "C.UTF-8",
    }
    log_path = tmp_path / "serve.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            ["triage", "serve", "--port", str(port), "--workers", "1"],
            cwd=empty,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 90
            while _get_ready(base) != 200:
                assert proc.poll() is None, log_path.read_text()[-3000:]
                assert time.monotonic() < deadline, log_path.read_text()[-3000:]
                time.sleep(0.3)
            req = urllib.request.Request(
                f"{base}/v1/tickets",
                data=json.dumps({"text": "社保卡补办要跑几次窗口，网上办理的入口在哪里"}).encode(),
                headers={"Content-Type": "application/json"},
            )
            with urllib.request.urlopen(req, timeout=10) as r:
                ticket = json.loads(r.read())
            assert r.status == 201 and ticket["code"]
            assert ticket["tips"] and all(t["title"] and t["answer"] for t in ticket["tips"])

            status, page, landed = _get(f"{base}/review")
            assert status == 200 and "/sign-in" in landed
            assets = re.findall(r'(?:href|src)="(/[^"]+\.(?:css|js))"', page.decode())
            assert any(a.endswith(".css") for a in assets) and any(a.endswith(".js") for a in assets)
            for asset in assets:
                status, body, _ = _get(base + asset)
                assert status == 200 and body, asset
        finally:
            proc.terminate()
            proc.wait(timeout=30)

    assert list(empty.iterdir()) == []  # nothing dropped in the folder it was started from
    state = data_home / "triage" / "instance"
    assert (state / "triage.db").is_file() and (state / "secret_key").is_file()
    assert _tree(site) == before_site, "the installed package was written to"
    assert _checkout_state() == before_checkout


def _get_ready(base: str) -> int:
    try:
        return _get(f"{base}/readyz")[0]
    except OSError:  # not listening yet
        return 0
