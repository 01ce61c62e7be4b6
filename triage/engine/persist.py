"""Model folders: ``model.npz`` (arrays, and JSON stored as UTF-8 bytes) plus ``card.json``.

Loading runs no code from the folder: the archive is read once, its SHA-256 checked against
the card on those very bytes, and numpy parses them with ``allow_pickle=False``. Nothing is
unpickled, so a planted pickle, even with its hash written into the card, is never run.
Folders from before this format (a pickled ``model.joblib``) are refused with a sentence
saying to retrain. Neither scikit-learn nor jieba is needed to load a model.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import platform
import tempfile
import zipfile
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from triage.engine.scoring import Block, Features, LinearHead, ServingModel
from triage.engine.segment import Dictionary, Table
from triage.errors import ModelRefused

__all__ = ["ARTIFACT", "CARD", "FORMAT", "load_model", "read_card", "save_model", "sha256_of"]

ARTIFACT = "model.npz"
CARD = "card.json"
CARD_SCHEMA = 2
FORMAT = 1  # of the arrays in the artifact; a reader refuses any other
PICKLED = "model.joblib"  # the artifact of schema 1, never loaded


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def package_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in ("scikit-learn", "numpy", "scipy", "jieba", "marisa-trie", "opencc", "triage"):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "absent"
    return versions


# -- writing ---------------------------------------------------------------------------------


def _text(value: Any) -> np.ndarray:
    """JSON as a uint8 array: an npz member numpy reads without pickling."""
    return np.frombuffer(json.dumps(value, ensure_ascii=False).encode("utf-8"), dtype=np.uint8)


def to_arrays(model: ServingModel) -> dict[str, np.ndarray]:
    """Every array of the model, plus ``spec``: the JSON that says how they fit together."""
    arrays: dict[str, np.ndarray] = {}
    blocks = []
    for b, block in enumerate(model.features.blocks):
        arrays[f"block{b}_terms"] = _text(block.terms)
        arrays[f"block{b}_idf"] = block.idf
        arrays[f"block{b}_scale"] = block.scale
        blocks.append(
            {
                "analyzer": block.analyzer,
                "ngram": list(block.ngram),
                "sublinear_tf": block.sublinear_tf,
                "norm": block.norm,
            }
        )
    heads = []
    for h, head in enumerate(model.heads_.values()):
        arrays[f"head{h}_weights"] = head.weights
        arrays[f"head{h}_intercept"] = head.intercept
        if head.review_offset is not None:
            arrays[f"head{h}_review_offset"] = head.review_offset
        if head.follow is not None:
            arrays[f"head{h}_follow"] = head.follow
        heads.append(
            {
                "name": head.name,
                "labels": head.labels,
                "names": head.names,
                "temperature": head.temperature,
                "review": head.review,
                "conformal_q": head.conformal_q,
            }
        )
    trie, logp = model.features.dictionary.to_bytes()
    arrays["dictionary_trie"] = np.frombuffer(trie, dtype=np.uint8)
    arrays["dictionary_logp"] = np.frombuffer(logp, dtype=np.float64)
    table = model.features.dictionary.table  # the same words, laid out for cutting fast
    arrays["dictionary_keys"] = table.keys[:-1]  # less the sentinel
    arrays["dictionary_keys_logp"] = table.keyp[:-1]
    arrays["dictionary_long_words"] = _text(list(table.long_words))
    arrays["dictionary_long_logp"] = np.array(list(table.long_words.values()), dtype=np.float64)
    arrays["spec"] = _text(
        {
            "format": FORMAT,
            "version": model.version_,
            "blocks": blocks,
            "heads": heads,
            "tokenizer": {
                "userdict": list(model.features.userdict),
                "stopwords": sorted(model.features.stopwords),
                "dictionary_logtotal": model.features.dictionary.logtotal,
                "dictionary_maxlen": model.features.dictionary.maxlen,
            },
            "fallback": model.fallback,
            "review_heads": list(model.review_heads),
            "n_reasons": model.n_reasons,
            "verified": model.verified_,
        }
    )
    return arrays


def save_model(model: ServingModel, directory: Path, card: dict[str, Any]) -> Path:
    """Write ``model`` and its card (``card``: what training knows) into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    # Uncompressed: loading is a read, not a decompression. (numpy's stub types every **kwds
    # value as allow_pickle's bool.)
    np.savez(buffer, **to_arrays(model))  # type: ignore[arg-type]
    data = buffer.getvalue()
    _write_atomically(directory / ARTIFACT, data)
    full = {
        "schema": CARD_SCHEMA,
        "version": model.version_,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "artifact": {"file": ARTIFACT, "sha256": hashlib.sha256(data).hexdigest(), "format": FORMAT},
        "packages": package_versions(),
        **card,
    }
    text = json.dumps(full, ensure_ascii=False, indent=2, default=_jsonable)
    _write_atomically(directory / CARD, text.encode("utf-8"))
    return directory


def _write_atomically(path: Path, data: bytes) -> None:
    # Write under a temporary name and rename, so a crash never leaves a half file.
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.replace(tmp, path)


def _jsonable(value: Any) -> Any:
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, tuple | set | frozenset):
        return list(value)
    return str(value)


# -- reading ---------------------------------------------------------------------------------


def read_card(directory: Path) -> dict[str, Any]:
    path = directory / CARD
    if not path.is_file():
        raise ModelRefused(f"{directory} is not a model folder: it has no {CARD}.")
    try:
        card = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelRefused(f"The model card {path} cannot be read: {exc}.") from exc
    if isinstance(card, dict) and (card.get("schema") == 1 or _artifact_file(card) == PICKLED):
        raise ModelRefused(
            f"The model in {directory} was saved by an earlier version as a pickle ({PICKLED}), "
            "which is never loaded because unpickling can run code; retrain it with `triage train`."
        )
    if not isinstance(card, dict) or card.get("schema") != CARD_SCHEMA:
        raise ModelRefused(f"The model card {path} is not a card this version understands.")
    return card


def _artifact_file(card: dict[str, Any]) -> Any:
    artifact = card.get("artifact")
    return artifact.get("file") if isinstance(artifact, dict) else None


def load_model(directory: str | Path) -> ServingModel:
    """The served model in ``directory``; ModelRefused for anything not exactly as its card says."""
    directory = Path(directory)
    card = read_card(directory)
    artifact = card.get("artifact")
    name = _artifact_file(card)
    if (
        not isinstance(artifact, dict)
        or not isinstance(name, str)
        or not isinstance(artifact.get("sha256"), str)
        or Path(name).name != name
        or name in ("", ".", "..")
    ):
        raise ModelRefused(f"The model card in {directory} names no artifact file and hash; refusing it.")
    if artifact.get("format") != FORMAT:
        raise ModelRefused(
            f"The artifact in {directory} has format {artifact.get('format')!r}, not {FORMAT}."
        )
    try:
        data = (directory / name).read_bytes()  # read once: the bytes hashed are the bytes parsed
    except OSError as exc:
        raise ModelRefused(f"The model folder {directory} has no readable artifact {name}: {exc}.") from exc
    if hashlib.sha256(data).hexdigest() != artifact["sha256"]:
        raise ModelRefused(
            f"The artifact in {directory} does not match its card (SHA-256 differs); refusing to load it."
        )
    try:
        model = from_bytes(data)
    except (
        ValueError,
        KeyError,
        IndexError,
        TypeError,
        AttributeError,
        RuntimeError,
        OSError,
        EOFError,
        zipfile.BadZipFile,
    ) as exc:
        # A malformed archive can raise any of these; none of it runs code from the folder.
        raise ModelRefused(f"The artifact in {directory} cannot be loaded: {exc}.") from exc
    if model.version_ != card.get("version"):
        raise ModelRefused(f"The artifact in {directory} is not the model its card describes.")
    return model


def from_bytes(data: bytes) -> ServingModel:
    """Parse an artifact: numpy arrays (``allow_pickle=False``) and JSON, nothing else."""
    with np.load(io.BytesIO(data), allow_pickle=False) as npz:
        arrays = {key: npz[key] for key in npz.files}
    spec = _json(arrays, "spec")
    if not isinstance(spec, dict) or spec.get("format") != FORMAT:
        raise ValueError("its spec is missing or of another format")
    tok = spec["tokenizer"]
    table = None
    if "dictionary_keys" in arrays:  # folders saved before it carry the trie alone
        long_words = [str(w) for w in _json(arrays, "dictionary_long_words")]
        long_logp = _floats(arrays, "dictionary_long_logp").tolist()
        if len(long_words) != len(long_logp):
            raise ValueError("the dictionary's long words and their scores differ in number")
        keys = arrays["dictionary_keys"]
        if keys.dtype != np.uint64:
            raise ValueError("dictionary_keys is not an array of uint64")
        longer = dict(zip(long_words, long_logp, strict=True))
        table = Table(keys, _floats(arrays, "dictionary_keys_logp"), longer)
    dictionary = Dictionary.from_bytes(
        arrays["dictionary_trie"].tobytes(),
        _floats(arrays, "dictionary_logp").tobytes(),
        float(tok["dictionary_logtotal"]),
        int(tok["dictionary_maxlen"]),
        table,
    )
    blocks = [
        Block(
            analyzer=str(b["analyzer"]),
            ngram=(int(b["ngram"][0]), int(b["ngram"][1])),
            terms=[str(t) for t in _json(arrays, f"block{i}_terms")],
            idf=_floats(arrays, f"block{i}_idf"),
            scale=_floats(arrays, f"block{i}_scale"),
            sublinear_tf=bool(b["sublinear_tf"]),
            norm=b["norm"],
        )
        for i, b in enumerate(spec["blocks"])
    ]
    features = Features(
        blocks, tuple(map(str, tok["userdict"])), frozenset(map(str, tok["stopwords"])), dictionary
    )
    heads = [
        LinearHead(
            name=str(h["name"]),
            labels=[str(x) for x in h["labels"]],
            weights=_floats(arrays, f"head{i}_weights"),
            intercept=_floats(arrays, f"head{i}_intercept"),
            temperature=float(h["temperature"]),
            review={str(k): float(v) for k, v in h["review"].items()},
            conformal_q=float(h["conformal_q"]),
            names={str(k): str(v) for k, v in h["names"].items()},
            review_offset=_floats(arrays, f"head{i}_review_offset")
            if f"head{i}_review_offset" in arrays
            else None,
            follow=_floats(arrays, f"head{i}_follow") if f"head{i}_follow" in arrays else None,
        )
        for i, h in enumerate(spec["heads"])
    ]
    return ServingModel(
        features,
        heads,
        version=str(spec["version"]),
        fallback={str(k): str(v) for k, v in (spec.get("fallback") or {}).items()},
        review_heads=[str(h) for h in spec.get("review_heads", [])],
        n_reasons=int(spec.get("n_reasons", 5)),
        verified=spec.get("verified") or {},
    )


def _json(arrays: dict[str, np.ndarray], key: str) -> Any:
    raw = arrays[key]
    if raw.dtype != np.uint8 or raw.ndim != 1:
        raise ValueError(f"{key} is not text")
    return json.loads(raw.tobytes().decode("utf-8"))


def _floats(arrays: dict[str, np.ndarray], key: str) -> np.ndarray:
    raw = arrays[key]
    if raw.dtype != np.float64:
        raise ValueError(f"{key} is not an array of floats")
    return raw
