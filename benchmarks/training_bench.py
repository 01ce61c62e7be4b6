"""Training cost as the data grows: the default model (three heads, 3-fold calibration) fit
on data/messages at 1x, 2x and 4x its size; the copies carry small perturbations (a filler
phrase, a dropped character, punctuation swapped) so they are not exact duplicates. Each size
runs in its own process: fit seconds, peak RSS, artifact size.

    .venv/bin/python -m benchmarks.training_bench [--scales 1,2,4]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

from .harness import PYTHON, ROOT

PROBE = """
import json, random, resource, sys, tempfile, time
from pathlib import Path
from triage.engine.data import read_labelled
from triage.settings import load_settings
from triage.engine.training import build_model
from triage.engine.training import default_data_files
from triage.engine.training import split_base

FILLERS = ("您好，", "请问", "麻烦", "谢谢。", "急！", "另外，")
PUNCT = {"，": ",", "。": ".", "？": "?", "！": "!"}

def perturb(text, rng):
    chars = list(text)
    if len(chars) > 8:
        del chars[rng.randrange(len(chars))]
    chars.insert(rng.randrange(len(chars) + 1), rng.choice(FILLERS))
    return "".join(PUNCT.get(c, c) if rng.random() < 0.5 else c for c in chars)

scale = int(sys.argv[1])
conf = load_settings()
data, _ = split_base(read_labelled(default_data_files(conf)))
rng = random.Random(scale)
items, labels = list(data.items), {h: list(v) for h, v in data.labels.items()}
for _ in range(scale - 1):
    for i, item in enumerate(data.items):
        items.append({**item, "text": perturb(item["text"], rng)})
        for h in labels:
            labels[h].append(data.labels[h][i])
t = time.perf_counter()
model = build_model(conf).fit(items, labels)
fit_s = time.perf_counter() - t
with tempfile.TemporaryDirectory() as tmp:
    folder = model.save(Path(tmp) / "m")
    size = sum(p.stat().st_size for p in folder.iterdir()) / 2**20
print(json.dumps({
    "scale": scale, "rows": len(items), "fit_s": round(fit_s, 1),
    "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    "n_features": model.featurizer_.n_features_, "artifact_mb": round(size, 2),
}))
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", default="1,2,4")
    args = parser.parse_args(argv)
    rows = []
    for scale in args.scales.split(","):
        out = subprocess.run(
            [PYTHON, "-c", PROBE, scale], cwd=ROOT, capture_output=True, text=True, timeout=3600, check=True
        ).stdout
        rows.append(json.loads(out.strip().splitlines()[-1]))
        print(json.dumps(rows[-1]), flush=True)
    base = rows[0]["fit_s"]
    for row in rows:
        ratio = row["fit_s"] / base
        print(f"{row['scale']}x  {row['rows']:>6} rows  fit {row['fit_s']:>6.1f} s  ({ratio:.2f}x)")
    print(json.dumps(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
