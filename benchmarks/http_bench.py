"""HTTP throughput and latency of `triage serve`: POST /v1/triage (real, varied texts) beside
GET /healthz in the same run, at several connection counts; then the memory of every process
(RSS and PSS) after warm-up and real use (every kind of request, the dashboard included), with
and without --preload; model load time; and what a worker imports (benchmarks/serving_probe.py).
Loopback only, bounded by --seconds per step.

Uses wrk (`apt-get install -y wrk`) when installed, else a threaded keep-alive Python client
(which costs more CPU than wrk, so its figures are lower). The triage/healthz ratio is the
figure that survives a noisy machine.

    .venv/bin/python -m benchmarks.http_bench [--seconds 10] [--rounds 3] [--connections 1,8,32] [--threads N]
"""

from __future__ import annotations

import argparse
import http.cookiejar
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from .harness import PYTHON, Client, Server, make_key, model_env, percentile, pss_mb, rss_mb, texts

LUA = """
local bodies = {%(bodies)s}
local n = 0
if #bodies > 0 then
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Authorization"] = "Bearer %(key)s"
end
request = function()
  if #bodies == 0 then return wrk.format("GET", wrk.path) end
  n = n %% #bodies + 1
  return wrk.format("POST", wrk.path, nil, bodies[n])
end
done = function(s, latency, requests)
  local e = s.errors
  io.write(string.format(
    "WRKJSON {\\"requests\\": %%d, \\"duration_us\\": %%d, \\"p50_us\\": %%d, \\"p99_us\\": %%d, " ..
    "\\"errors\\": %%d, \\"non_2xx\\": %%d}\\n",
    s.requests, s.duration, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.timeout, e.status))
end
"""

LOAD_PROBE = """
import json, sys, time
t = time.perf_counter()
from triage.engine.persist import load_model
m = load_model(sys.argv[1])
loaded = time.perf_counter() - t
m.route("营业执照怎么办理")
print(json.dumps({"load_s": loaded, "ready_s": time.perf_counter() - t}))
"""


def wrk_run(script: Path, url: str, connections: int, seconds: float, threads: int = 1) -> dict[str, float]:
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{round(seconds)}s", "--timeout", "5s"]
    out = subprocess.run(
        [*command, "-s", str(script), url],
        capture_output=True,
        text=True,
        timeout=seconds + 60,
        check=True,
    ).stdout
    raw = json.loads(out.split("WRKJSON", 1)[1].strip().splitlines()[0])
    return {
        "rps": raw["requests"] / (raw["duration_us"] / 1e6),
        "p50_ms": raw["p50_us"] / 1000,
        "p99_ms": raw["p99_us"] / 1000,
        "requests": raw["requests"],
        "errors": raw["errors"] + raw["non_2xx"],
    }


def python_run(
    port: int, path: str, bodies: list[dict], key: str, connections: int, seconds: float
) -> dict[str, float]:
    """The same measurement with threads and http.client keep-alive connections."""
    latencies: list[list[float]] = [[] for _ in range(connections)]
    errors = [0] * connections
    stop = time.monotonic() + seconds

    def worker(i: int) -> None:
        client = Client(port, {"Authorization": f"Bearer {key}"})
        n = i
        while time.monotonic() < stop:
            body = bodies[n % len(bodies)] if bodies else None
            status, _, took = client.call("POST" if bodies else "GET", path, body)
            latencies[i].append(took)
            errors[i] += not 200 <= status < 400
            n += connections
        client.close()

    started = time.monotonic()
    pool = [threading.Thread(target=worker, args=(i,)) for i in range(connections)]
    for t in pool:
        t.start()
    for t in pool:
        t.join(timeout=seconds + 30)
    took = time.monotonic() - started
    flat = [x for xs in latencies for x in xs]
    return {
        "rps": len(flat) / took,
        "p50_ms": 1000 * percentile(flat, 50),
        "p99_ms": 1000 * percentile(flat, 99),
        "requests": len(flat),
        "errors": sum(errors),
    }


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time consumed so far by these processes."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (clock ticks)
    return total / os.sysconf("SC_CLK_TCK")


def memory(server: Server) -> dict[str, Any]:
    workers = server.worker_pids()
    return {
        "master_rss_mb": round(rss_mb(server.proc.pid), 1) if server.proc else None,
        "master_pss_mb": round(pss_mb(server.proc.pid), 1) if server.proc else None,
        "worker_rss_mb": [round(rss_mb(p), 1) for p in workers],
        "worker_pss_mb": [round(pss_mb(p), 1) for p in workers],
    }


def real_use(port: int, keys: dict[str, str], rounds: int = 12) -> dict[str, int]:
    """Requests of every kind a worker serves, ``rounds`` times (so each worker gets each
    kind): tickets created, looked up and listed, stats, hotspots, the review queue, the
    model card, and the dashboard page signed in, with every chart it shows. Returns the
    number of requests and of failures."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    base = f"http://127.0.0.1:{port}"
    done = {"requests": 0, "failures": 0}

    def call(path: str, role: str | None = None, body: dict | None = None, form: dict | None = None) -> bytes:
        headers = {"Authorization": f"Bearer {keys[role]}"} if role else {}
        data = None
        if body is not None:
            data, headers["Content-Type"] = json.dumps(body).encode(), "application/json"
        elif form is not None:
            data = urllib.parse.urlencode(form).encode()
        done["requests"] += 1
        try:
            with opener.open(
                urllib.request.Request(base + path, data=data, headers=headers), timeout=60
            ) as r:
                return r.read()
        except (urllib.error.URLError, OSError):
            done["failures"] += 1
            return b""

    page = call("/sign-in").decode()
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    call("/sign-in", form={"key": keys["reviewer"], "csrf_token": token.group(1) if token else ""})
    texts_ = texts(rounds)
    for i in range(rounds):
        created = call("/v1/tickets", "intake", {"text": texts_[i % len(texts_)]})
        code = json.loads(created or b"{}").get("code", "none")
        call(f"/v1/tickets/{code}")
        call("/v1/tickets", "reviewer")
        call("/v1/stats/summary", "reviewer")
        call("/v1/stats/hotspots", "reviewer")
        call("/v1/review/queue", "reviewer")
        call("/v1/model", "admin")
        html = call("/dashboard").decode()
        for chart in re.findall(r'src="(/dashboard/charts/[^"]+)"', html):
            call(chart)  # what a browser fetches for a dashboard drawn as images
    return done


def import_set(env: dict[str, str], work: Path) -> dict[str, Any]:
    """What a worker process imports after serving every kind of request (serving_probe)."""
    out = subprocess.run(
        [PYTHON, "-m", "benchmarks.serving_probe"],
        env={**os.environ, **env, "TRIAGE_INSTANCE_DIR": str(work / "probe")},
        capture_output=True,
        text=True,
        timeout=600,
        cwd=Path(__file__).resolve().parent.parent,
    )
    if out.returncode:
        return {"error": out.stderr[-500:]}
    report = json.loads(out.stdout.strip().splitlines()[-1])
    heavy = sorted({m.split(".")[0] for m in report["heavy"]})
    return {"heavy_packages": heavy, "modules": report["modules"], "status": report["status"]}


def warm(port: int, key: str, bodies: list[dict], count: int = 500) -> int:
    client = Client(port, {"Authorization": f"Bearer {key}"})
    failed = sum(client.call("POST", "/v1/triage", bodies[i % len(bodies)])[0] != 200 for i in range(count))
    client.close()
    return failed


def load_time(model_dir: str, runs: int = 3) -> dict[str, float]:
    probes = [
        json.loads(
            subprocess.run(
                [PYTHON, "-c", LOAD_PROBE, model_dir], capture_output=True, text=True, check=True, timeout=300
            ).stdout
        )
        for _ in range(runs)
    ]
    return {
        "load_s_median": round(statistics.median(p["load_s"] for p in probes), 3),
        "load_and_first_route_s_median": round(statistics.median(p["ready_s"] for p in probes), 3),
    }


def reference_ms() -> float:
    """A fixed pure-Python loop, timed: how fast this shared machine runs right now. On the
    machines here it ranged 0.42-0.80 s for the same loop within one idle minute."""
    started = time.perf_counter()
    total = 0
    for i in range(1_000_000):
        total += i * i
    return 1000 * (time.perf_counter() - started)


def measure_connections(
    args: argparse.Namespace, server: Server, work: Path, key: str, bodies: list[dict], c: int, use_wrk: bool
) -> dict[str, Any]:
    """Medians over --rounds of /healthz then /v1/triage at ``c`` connections (alternating, so
    a slow spell of a shared machine hits both), with each round's req/s kept."""
    rounds: dict[str, list[dict[str, float]]] = {"healthz": [], "triage": []}
    for _ in range(args.rounds):
        for name, path in (("healthz", "/healthz"), ("triage", "/v1/triage")):
            reference = reference_ms()
            pids = server.worker_pids()
            cpu = cpu_seconds(pids)
            if use_wrk:
                lua = work / ("get.lua" if name == "healthz" else "load.lua")
                r = wrk_run(lua, server.base + path, c, args.seconds)
            else:
                r = python_run(server.port, path, bodies if name == "triage" else [], key, c, args.seconds)
            # CPU the workers spent per request: steadier than req/s on a shared machine.
            r["worker_cpu_ms"] = 1000 * (cpu_seconds(pids) - cpu) / max(1, r["requests"])
            r["reference_ms"] = reference
            rounds[name].append(r)
    row: dict[str, Any] = {"connections": c}
    for name, rs in rounds.items():
        row[name] = {k: round(statistics.median(r[k] for r in rs), 2) for k in rs[0]}
        row[name]["errors"] = sum(r["errors"] for r in rs)  # every error counts, not the median
        row[name]["rps_rounds"] = [round(r["rps"]) for r in rs]
        row[name]["p99_ms_rounds"] = [round(r["p99_ms"], 1) for r in rs]
        row[name]["reference_ms_rounds"] = [round(r["reference_ms"]) for r in rs]
    ratios = [t["rps"] / h["rps"] for t, h in zip(rounds["triage"], rounds["healthz"], strict=True)]
    row["triage_to_healthz_rps"] = round(statistics.median(ratios), 3)
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10, help="length of each measured step")
    parser.add_argument("--rounds", type=int, default=3, help="measurements per step; medians are reported")
    parser.add_argument("--connections", default="1,8,32")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, help="threads per worker (default: triage serve's)")
    parser.add_argument("--client", choices=["auto", "wrk", "python"], default="auto")
    parser.add_argument("--skip-memory", action="store_true")
    args = parser.parse_args(argv)
    use_wrk = args.client == "wrk" or (args.client == "auto" and shutil.which("wrk"))
    conns = [int(c) for c in args.connections.split(",")]
    bodies = [{"text": t} for t in texts(400)]
    figures: dict[str, Any] = {"client": "wrk" if use_wrk else "python", "loadavg_before": os.getloadavg()}

    with tempfile.TemporaryDirectory(prefix="triage-bench-") as tmp:
        work = Path(tmp)
        env = {**model_env(work / "models"), "TRIAGE_INSTANCE_DIR": str(work / "instance")}
        keys = {role: make_key({**os.environ, **env}, role) for role in ("intake", "reviewer", "admin")}
        key = keys["intake"]
        script = work / "load.lua"
        script.write_text(
            LUA
            % {
                "bodies": ",\n".join(f"[==[{json.dumps(b)}]==]" for b in bodies),
                "key": key,
            },
            encoding="utf-8",
        )
        (work / "get.lua").write_text(LUA % {"bodies": "", "key": key}, encoding="utf-8")
        runs: list[dict[str, Any]] = []
        with Server(env, workers=args.workers, threads=args.threads) as server:
            figures["server_ready_s"] = round(server.ready_s, 2)
            warm(server.port, key, bodies, 200)
            for c in conns:
                row = measure_connections(args, server, work, key, bodies, c, use_wrk)
                runs.append(row)
                print(
                    f"c={c:<3} healthz {row['healthz']['rps']:8.1f} req/s p50 {row['healthz']['p50_ms']:6.2f}"
                    f" p99 {row['healthz']['p99_ms']:6.2f} ms cpu {row['healthz']['worker_cpu_ms']:.2f} ms"
                    f" err {row['healthz']['errors']:.0f} | triage "
                    f"{row['triage']['rps']:8.1f} req/s p50 {row['triage']['p50_ms']:6.2f} p99 "
                    f"{row['triage']['p99_ms']:6.2f} ms cpu {row['triage']['worker_cpu_ms']:.2f} ms"
                    f" err {row['triage']['errors']:.0f} | ratio {row['triage_to_healthz_rps']:.3f}"
                    f" | triage req/s by round {row['triage']['rps_rounds']}"
                    f" (reference loop ms {row['triage']['reference_ms_rounds']})",
                    flush=True,
                )
            figures["runs"] = runs
            figures["memory_after_load"] = memory(server)
            figures["real_use"] = real_use(server.port, keys)
            figures["memory_after_real_use"] = memory(server)
            print(f"after real use {figures['real_use']}: {figures['memory_after_real_use']}", flush=True)
        if not args.skip_memory:
            for preload in (False, True):
                label = "memory_preload" if preload else "memory_no_preload"
                with Server(env, workers=args.workers, threads=args.threads, preload=preload) as server:
                    failed = warm(server.port, key, bodies)
                    used = real_use(server.port, keys)
                    figures[label] = {
                        "ready_s": round(server.ready_s, 2),
                        "warm_failures": failed,
                        "real_use": used,
                        **memory(server),
                    }
                print(f"{label}: {figures[label]}", flush=True)
            figures["model"] = {"folder": env["TRIAGE_MODEL"], **load_time(env["TRIAGE_MODEL"])}
            print(f"model load: {figures['model']}", flush=True)
            figures["worker_imports"] = import_set(env, work)
            print(f"worker imports: {figures['worker_imports']}", flush=True)
    print(json.dumps(figures, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
