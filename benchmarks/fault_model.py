"""Fault drill: a corrupt or truncated model folder is promoted while the service runs.

Against the registry (`triage models promote|rollback`; the active version is the newest row
of model_events, and workers follow it): a truncated artifact, an artifact of garbage whose
card hash was "fixed" to match, and a folder with no artifact. Each must be refused by
`triage models promote` with one sentence; the same versions forced into model_events (as
if a folder were damaged after promotion) must be refused by the workers, which keep serving
the model they have; a good version must then pass the promotion gate without --force,
judged against the version the workers fell back to; a restart with a damaged active version
must come up on the last good one. A steady /v1/triage load runs throughout and must see no
errors. Prints PASS/FAIL with figures; exits non-zero on FAIL.

    .venv/bin/python -m benchmarks.fault_model
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from .harness import PYTHON, ROOT, Client, Server, make_key, model_env, texts


def versions(models_dir: Path, good: Path) -> dict[str, str]:
    """Copy the good model in as version A, re-save it as a second good version B, and make
    three damaged versions from B. Returns {role: version}."""
    from triage.engine.persist import ARTIFACT, CARD, load_model, save_model, sha256_of

    card = json.loads((good / CARD).read_text())
    a = card["version"]
    shutil.copytree(good, models_dir / a)
    model = load_model(good)
    model.version_ = a[:-4] + "b00b"
    b = model.version_
    kept = {
        k: v for k, v in card.items() if k not in ("schema", "version", "created", "artifact", "packages")
    }
    save_model(model, models_dir / b, kept)
    out = {"A": a, "B": b}
    for name, damage in (("truncated", "truncate"), ("garbage", "garbage"), ("no_artifact", "remove")):
        version = f"{b[:-4]}{name[:4]}"
        folder = models_dir / version
        shutil.copytree(models_dir / b, folder)
        card = json.loads((folder / CARD).read_text())
        card["version"] = version
        artifact = folder / ARTIFACT
        if damage == "truncate":
            artifact.write_bytes(artifact.read_bytes()[: artifact.stat().st_size // 2])
        elif damage == "garbage":
            artifact.write_bytes(os.urandom(artifact.stat().st_size))
            card["artifact"]["sha256"] = sha256_of(artifact)
        else:
            artifact.unlink()
        (folder / CARD).write_text(json.dumps(card))
        out[name] = version
    return out


class Load:
    """POST /v1/triage about 20 times a second; records (status, model_version)."""

    def __init__(self, server: Server, key: str) -> None:
        self.server, self.key = server, key
        self.seen: list[tuple[int, str | None]] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run)

    def run(self) -> None:
        client = Client(self.server.port, {"Authorization": f"Bearer {self.key}"})
        pool = texts(200)
        i = 0
        while not self.stop.wait(0.05):
            status, body, _ = client.call("POST", "/v1/triage", {"text": pool[i % len(pool)]})
            version = body.get("model_version") if isinstance(body, dict) else None
            self.seen.append((status, version))
            i += 1
        client.close()

    def __enter__(self) -> Load:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(timeout=30)

    def served_since(self, n: int) -> set[str | None]:
        return {v for _, v in self.seen[n:]}


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PYTHON, "-m", "triage", *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=600
    )


def force_active(env: dict[str, str], version: str) -> None:
    """Write the registry row directly, as if the folder were damaged after its promotion."""
    from triage.service.registry import record
    from triage.storage import Database
    from triage.storage.db import database_url

    db = Database(database_url({"database_url": "", "instance_dir": env["TRIAGE_INSTANCE_DIR"]}))
    session = db.session()
    try:
        record(session, version, "promote", "fault-drill", forced=True, note="drill: damaged folder")
    finally:
        session.close()
        db.dispose()


def wait_for(load: Load, version: str, timeout: float = 20) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if load.seen[-5:] and all(v == version for _, v in load.seen[-5:]):
            return True
        time.sleep(0.2)
    return False


def drill(work: Path) -> dict[str, Any]:
    models_dir = work / "models"
    models_dir.mkdir()
    good = Path(model_env(work / "trained")["TRIAGE_MODEL"])
    names = versions(models_dir, good)
    env = {
        "TRIAGE_MODELS_DIR": str(models_dir),
        "TRIAGE_INSTANCE_DIR": str(work / "instance"),
        "TRIAGE_MODEL": "",
        "TRIAGE_MODEL_RELOAD_SECONDS": "0.5",
    }
    full = {**os.environ, **env}
    key = make_key(full, "intake")
    force_active(env, names["A"])
    result: dict[str, Any] = {"versions": names}
    server = Server(env).start()
    try:
        with Load(server, key) as load:
            time.sleep(1)
            refused = {}
            for damaged in ("truncated", "garbage", "no_artifact"):
                done = cli(full, "models", "promote", names[damaged], "--force")
                last = (done.stderr.strip().splitlines() or [""])[-1]
                refused[damaged] = {
                    "exit": done.returncode,
                    "message": last[:200],
                    "traceback": "Traceback" in done.stderr,
                }
            result["promote_refused"] = refused
            mark = len(load.seen)
            for damaged in ("truncated", "garbage", "no_artifact"):
                force_active(env, names[damaged])
                time.sleep(2)  # four reload ticks
            result["served_while_damaged_active"] = sorted(map(str, load.served_since(mark)))
            status, _, _ = Client(server.port).call("GET", "/readyz")
            result["readyz_while_damaged_active"] = status
            # No --force: the gate must judge B against A, the version the workers fell back to.
            done = cli(full, "models", "promote", names["B"])
            result["promote_good_exit"] = done.returncode
            result["promote_good_message"] = (done.stderr.strip().splitlines() or [""])[-1][:200]
            gate_lines = [line for line in done.stderr.splitlines() if line.startswith("gate: ")]
            result["promote_good_gate"] = (gate_lines or [""])[0][:600]
            result["good_promotion_served"] = wait_for(load, names["B"])
            force_active(env, names["truncated"])
        result["triage_statuses_before_restart"] = count(load.seen)
        server.stop()
        server.start()  # a restart while the active version is damaged
        with Load(server, key) as load:
            time.sleep(2)
        result["served_after_restart"] = sorted(map(str, load.served_since(0)))
        result["restart_ready_s"] = round(server.ready_s, 2)
        result["tracebacks_in_log"] = server.log_tail(10**8).count("Traceback")
    finally:
        server.stop()
    result["triage_statuses_after_restart"] = count(load.seen)
    return result


def count(seen: list[tuple[int, str | None]]) -> dict[str, int]:
    statuses: dict[str, int] = {}
    for status, _ in seen:
        statuses[str(status)] = statuses.get(str(status), 0) + 1
    return statuses


def checks(r: dict[str, Any]) -> dict[str, bool]:
    names = r["versions"]
    last_good = names["B"] if r["good_promotion_served"] else names["A"]
    return {
        "promote refuses each damaged folder in one sentence": all(
            x["exit"] != 0 and not x["traceback"] for x in r["promote_refused"].values()
        ),
        "workers keep serving the old model when a damaged one is made active": (
            r["served_while_damaged_active"] == [names["A"]] and r["readyz_while_damaged_active"] == 200
        ),
        "a good version can then be promoted without --force, judged against the fallback": (
            r["promote_good_exit"] == 0
            and r["promote_good_gate"].startswith(f"gate: compared with {names['A']}")
            and r["good_promotion_served"]
        ),
        "a restart with a damaged active version serves the last good one": (
            r["served_after_restart"] == [last_good]
        ),
        "no /v1/triage request failed": set(r["triage_statuses_before_restart"]) == {"200"}
        and set(r["triage_statuses_after_restart"]) == {"200"},
    }


def main(argv: list[str] | None = None) -> int:
    with tempfile.TemporaryDirectory(prefix="triage-drill-") as tmp:
        result = drill(Path(tmp))
    results = checks(result)
    for name, ok in results.items():
        print(f"{'PASS' if ok else 'FAIL'} {name}")
    ok = all(results.values())
    print(f"{'PASS' if ok else 'FAIL'} damaged model promoted: {json.dumps(result, ensure_ascii=False)}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
