"""``manifest.json`` of a run folder: what produced its answers (spec, options without secrets, data
sha256, versions, times), and the refusal of a folder that holds another spec's answers.
"""

from __future__ import annotations

import datetime as _dt
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterable, Mapping

from petool_utils import __version__
from petool_utils.io import atomic_write_json, file_sha256, read_json
from petool_utils.paths import PACKAGE_ROOT
from petool_utils.secrets import redact_obj, secret_env_values

def git_commit(repo: str | os.PathLike[str] | None = None) -> str | None:
    """The checkout's commit (with ``-dirty`` when it has local changes), or None outside git."""
    cwd = str(repo or PACKAGE_ROOT)
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, timeout=10)
        if head.returncode != 0:
            return None
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=cwd,
                               capture_output=True, text=True, timeout=10)
        return head.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return None


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def is_own_method(predictor_name: str) -> bool:
    """petool's ranker (``offline-ranker``, with or without a prior): our method, not a stand-in."""
    return predictor_name.startswith("offline-ranker")


def is_standin(predictor_name: str) -> bool:
    """An offline baseline (random, retrieval, history, popularity) or a stand-in model: labelled
    ``standin: true`` in its manifest. The ranker is not one (:func:`is_own_method`)."""
    return any(w in predictor_name for w in ("offline", "standin")) and not is_own_method(predictor_name)


def write_manifest(
    directory: str | os.PathLike[str],
    *,
    model_spec: str,
    predictor_name: str,
    options: Mapping[str, Any],
    settings: Iterable[str],
    data_path: str | os.PathLike[str] | None = None,
    counts: Mapping[str, Any] | None = None,
    started_at: str | None = None,
    finished_at: str | None = None,
) -> Path:
    """Write ``manifest.json``; a resumed run appends to ``runs`` and keeps the first ``created_at``.

    Options pass through :func:`~petool_utils.secrets.redact_obj` (names like ``api_key`` dropped, secret
    values from the environment redacted by the one rule), so a manifest can be shared as is.
    """
    directory = Path(directory)
    path = directory / "manifest.json"
    previous: dict[str, Any] = {}
    if path.exists():
        try:
            previous = read_json(path)
        except ValueError:
            previous = {}
    secrets = secret_env_values()
    data = None
    if data_path is not None:
        p = Path(data_path)
        data = {"path": str(p), "sha256": file_sha256(p) if p.is_file() else None}
    run = {"started_at": started_at or _now(), "finished_at": finished_at or _now(),
           "counts": dict(counts or {})}
    manifest = {
        "model_spec": model_spec,
        "predictor": predictor_name,
        # An offline baseline or a stand-in model says so in every artifact it touches; petool's own
        # ranker is neither (it is the method, not a stand-in for one) and says that instead.
        "standin": is_standin(predictor_name),
        **({"method": "petool's own method (offline, no LLM)"} if is_own_method(predictor_name) else {}),
        "settings": list(settings),
        "options": redact_obj(dict(options), secrets),
        "data": data,
        "petool_version": __version__,
        "git_commit": git_commit(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "created_at": previous.get("created_at", run["started_at"]),
        "runs": list(previous.get("runs", [])) + [run],
    }
    manifest = redact_obj(manifest, secrets)
    return atomic_write_json(path, manifest)


class RunFolderMismatch(ValueError):
    """A run folder already holds another model's answers (its manifest names another spec)."""


def check_run_folder(directory: str | os.PathLike[str], model_spec: str) -> None:
    """Refuse to add ``model_spec``'s answers to a folder whose manifest names another spec.

    Folder names are unique per spec (:attr:`~petool_utils.models.spec.ModelSpec.slug`), so this only
    fires on a folder renamed by hand or written by an older petool whose folder names could collide
    (``openai:a:b`` and ``openai:a/b`` once shared one); resuming there would report the other model's
    answers as this one's and rewrite its manifest.
    """
    path = Path(directory) / "manifest.json"
    if not path.exists():
        return
    try:
        named = read_json(path).get("model_spec")
    except ValueError:
        return
    if named is not None and named != model_spec:
        raise RunFolderMismatch(f"{directory}: this run folder holds the answers of {named!r} (its manifest.json "
                                f"says so), not of {model_spec!r}; evaluate into another --out folder, or move "
                                "this one away")
