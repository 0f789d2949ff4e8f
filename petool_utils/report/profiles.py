"""Run profiles: one YAML file per way of running the notebooks (``params/<name>.yaml``).

A profile is the only thing that differs between the offline default, the smoke run of the tests and
the paper-scale run, so it is validated up front: a typo in a key should fail before papermill has
spent minutes on the first notebook, and the error must say which file and which key.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from petool_utils.paths import REPO_ROOT
from petool_utils.secrets import is_secret_name

PARAMS_DIR = REPO_ROOT / "params"

COMMON_KEYS: tuple[str, ...] = ("profile", "run_dir", "report_dir", "seed", "data", "tools_dir", "notebooks")
"""The keys every notebook may receive (besides its own section), if its parameters cell declares them."""



class ProfileError(ValueError):
    """A profile that cannot be used; the message names the file and the key."""

    def __init__(self, file: str | os.PathLike[str], key: str, problem: str):
        self.file, self.key, self.problem = str(file), key, problem
        super().__init__(f"{file}: key '{key}': {problem}")


class Profile(BaseModel):
    """A validated profile; paths are absolute (relative ones are taken from the repository root)."""

    model_config = ConfigDict(extra="forbid")

    profile: str
    run_dir: Path
    report_dir: Path
    seed: int = 0
    data: str | None = None
    tools_dir: str | None = None
    notebooks: list[str] = Field(default_factory=list)
    params: dict[str, dict[str, Any]] = Field(default_factory=dict)
    source: Path | None = Field(default=None, exclude=True)

    @field_validator("params", mode="before")
    @classmethod
    def _none_sections_are_empty(cls, v: Any) -> Any:
        # ``07_evaluation:`` with nothing under it is YAML null; it means "no overrides".
        if isinstance(v, dict):
            return {k: ({} if s is None else s) for k, s in v.items()}
        return v

    def common_params(self) -> dict[str, Any]:
        """The common keys as papermill parameters: plain JSON-able values, paths as strings."""
        return {
            "profile": self.profile,
            "run_dir": str(self.run_dir),
            "report_dir": str(self.report_dir),
            "seed": self.seed,
            "data": self.data,
            "tools_dir": self.tools_dir,
            "notebooks": list(self.notebooks),
        }

    def notebook_params(self, notebook: str) -> dict[str, Any]:
        """Common keys plus the notebook's own section (the section wins on a shared name)."""
        return {**self.common_params(), **self.params.get(notebook, {})}


def _resolve(path: str | os.PathLike[str] | None, root: Path) -> str | None:
    if path is None or str(path) == "":
        return None
    p = Path(os.path.expanduser(str(path)))
    return str(p if p.is_absolute() else (root / p).resolve())


def profile_path(name_or_path: str | os.PathLike[str], params_dir: Path = PARAMS_DIR) -> Path:
    """``offline`` means ``params/offline.yaml``; anything with a suffix or a slash is a path."""
    s = str(name_or_path)
    if s.endswith((".yaml", ".yml")) or os.sep in s or "/" in s:
        return Path(s).expanduser().resolve()
    return params_dir / f"{s}.yaml"


def find_secret_params(params: dict[str, Any], where: str = "") -> list[str]:
    """Dotted names of parameters that look like credentials (searched through nested dicts)."""
    found: list[str] = []
    for k, v in params.items():
        name = f"{where}.{k}" if where else str(k)
        # Papermill writes every parameter into the executed notebook (and so into the HTML), so a key
        # passed this way would be published; it must come from the environment instead.
        if is_secret_name(k):
            found.append(name)
        if isinstance(v, dict):
            found.extend(find_secret_params(v, name))
    return found


def load_profile(name_or_path: str | os.PathLike[str], *, root: Path = REPO_ROOT, params_dir: Path | None = None) -> Profile:
    """Load and validate a profile by name (``params/<name>.yaml``) or by path.

    Relative paths (``run_dir``, ``report_dir``, ``data``, ``tools_dir``) are resolved against ``root``
    (the repository root) so that the CLI, ``make`` and papermill agree whatever the current directory.
    """
    path = profile_path(name_or_path, params_dir or root / "params")
    if not path.exists():
        available = sorted(p.stem for p in (params_dir or root / "params").glob("*.yaml"))
        raise ProfileError(path, "<file>", f"no such profile (available: {', '.join(available) or 'none'})")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ProfileError(path, "<file>", f"not valid YAML ({exc})") from exc
    if not isinstance(raw, dict):
        raise ProfileError(path, "<root>", "expected a mapping of keys to values")
    for k in ("run_dir", "report_dir", "data", "tools_dir"):
        if k in raw and raw[k] is not None and not isinstance(raw[k], (str, os.PathLike)):
            raise ProfileError(path, k, f"expected a path, got {type(raw[k]).__name__}")
    secret = find_secret_params(raw.get("params") or {}, "params") if isinstance(raw.get("params"), dict) else []
    if secret:
        raise ProfileError(
            path, secret[0],
            "looks like a credential; papermill would write it into the executed notebook and the report. "
            "Set it in the environment (e.g. OPENAI_API_KEY) instead.",
        )
    try:
        prof = Profile.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(x) for x in err["loc"]) or "<root>"
        raise ProfileError(path, loc, err["msg"]) from exc
    prof.run_dir = Path(_resolve(prof.run_dir, root))  # type: ignore[arg-type]
    prof.report_dir = Path(_resolve(prof.report_dir, root))  # type: ignore[arg-type]
    prof.data = _resolve(prof.data, root)
    prof.tools_dir = _resolve(prof.tools_dir, root)
    prof.source = path
    return prof
