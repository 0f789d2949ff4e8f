"""Parameters: the one set-up every notebook calls first, and the one reader of run profiles.

A notebook runs in two places: papermill (working directory = project root, parameters injected as
Python values) and JupyterLab (working directory = ``notebooks/``, parameters typed by a person, or
passed by ``papermill -p`` as strings). Both must behave the same. Before this module, notebooks 01-05
and 08-09 used their ``run_dir`` as given, so in JupyterLab they wrote to ``notebooks/runs/offline``
while 06, 07, 10 and 11 read ``<root>/runs/offline``. So:

* :func:`setup` is the one first call of all 11 notebooks: it configures plotly, pandas and the warnings
  a report should not show, validates the parameters (:class:`NotebookParameters`: relative paths are
  taken from the project root, never the kernel's working directory; a string where a list is expected
  becomes a one-item list; anything else wrong is a :class:`ParameterError` naming the parameter),
  creates ``run_dir``, and seeds Python's and numpy's generators;
* :func:`load_profile` is the one reader of ``params/*.yaml`` (validated, secrets refused, paths
  resolved against the project root), for ``petool run``/``build`` and for ``petool train``.
"""

from __future__ import annotations

import logging
import os
import random
import warnings
from pathlib import Path
from typing import Annotated, Any, ClassVar, Mapping, get_args, get_origin

import yaml
from pydantic import (AfterValidator, BaseModel, ConfigDict, Field, ValidationError, create_model, field_validator,
                      model_validator)

from petool_utils.display import register_frame_formatter
from petool_utils.paths import REPO_ROOT, project_path
from petool_utils.secrets import is_secret_name

# Messages of library notices that say nothing about the results (matched at their start).
_QUIET_MESSAGES = (
    r"IProgress not found",  # tqdm.auto without widgets (ipywidgets is a dependency; belt and braces)
    r"n_jobs value .* overridden to 1 by setting random_state",  # UMAP with a seed: expected, harmless
    r"`is_gradient_checkpointing` is deprecated",  # transformers 5 about its own attribute
)
_QUIET_CATEGORIES = (FutureWarning, DeprecationWarning, PendingDeprecationWarning)


def quiet_library_warnings() -> None:
    """Hide deprecation-style notices raised inside libraries, and the known harmless notices above.

    Warnings from petool's own code stay visible: a notebook reader should see those.
    """
    for category in _QUIET_CATEGORIES:
        warnings.filterwarnings("ignore", category=category)
        warnings.filterwarnings("default", category=category, module=r"petool_utils(\.|$)")
    for message in _QUIET_MESSAGES:
        warnings.filterwarnings("ignore", message=message)
    logging.getLogger("transformers").setLevel(logging.ERROR)


def configure_display() -> None:
    """Plotly figures that survive nbconvert (the mimetype renders in JupyterLab; the ``notebook``
    renderer puts plotly.js into the HTML once per kernel, which the runner swaps for the report's one
    shared copy), wide pandas columns, DataFrames shown by :func:`petool_utils.display.frame_html`, and no
    library warnings in the cells."""
    # pandas and plotly are imported here, not at the top: the CLI reads profiles through this module
    # and should not pay for them
    import pandas as pd
    import plotly.io as pio

    pio.renderers.default = "plotly_mimetype+notebook"
    pd.set_option("display.max_colwidth", 200)
    register_frame_formatter()  # blanks for NaN, whole numbers as integers, 4 significant digits
    quiet_library_warnings()


class ParameterError(ValueError):
    """A notebook parameter that cannot be used; the message names it."""

    def __init__(self, notebook: str, name: str, problem: str, value: Any = None):
        self.notebook, self.name, self.problem = notebook, name, problem
        super().__init__(f"{notebook}: parameter '{name}': {problem} (got {value!r})")


def _project_path(p: Path) -> Path:
    return project_path(p)


ProjectPath = Annotated[Path, AfterValidator(_project_path)]
"""A path parameter: relative values are taken from the project root, whatever the working directory."""

BUILTIN_CORPUS = "builtin"
"""``tools_dir: builtin``: the corpus built into petool, always (a keyword, never a folder name)."""


def _tools_dir(p: str | Path) -> str | Path:
    return BUILTIN_CORPUS if str(p) == BUILTIN_CORPUS else project_path(Path(p))


ToolsDir = Annotated[str | Path, AfterValidator(_tools_dir)]
"""``tools_dir``: the keyword ``builtin``, or a folder taken from the project root like any path."""


def _is_list_type(annotation: Any) -> bool:
    if get_origin(annotation) in (list, tuple, set):
        return True
    return any(_is_list_type(a) for a in get_args(annotation) if a is not type(None))


class NotebookParameters(BaseModel):
    """Base of a notebook's parameters: subclass it with the parameters cell's names and types.

    ``NOTEBOOK`` names the notebook in error messages. Unknown names are refused (a typo in a
    profile is worth an error, not a silent default).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
    NOTEBOOK: ClassVar[str] = "notebook"

    @model_validator(mode="before")
    @classmethod
    def _strings_to_lists(cls, values: Any) -> Any:
        # `papermill -p models offline:history` passes a string: one model, not 15 characters.
        if isinstance(values, dict):
            values = dict(values)
            for name, field in cls.model_fields.items():
                if isinstance(values.get(name), str) and _is_list_type(field.annotation):
                    values[name] = [values[name]]
        return values

    def standin(self) -> str | None:
        """The stand-ins among these parameters, in one line (:func:`standin_note`)."""
        return standin_note(self)

    @classmethod
    def check(cls, **values: Any):
        """Validate the parameters cell's values; the first problem is a :class:`ParameterError`."""
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            err = exc.errors()[0]
            loc = [str(x) for x in err["loc"]]
            name = loc[0] if loc else "<parameters>"
            where = f"{name}[{']['.join(loc[1:])}]" if len(loc) > 1 else name
            raise ParameterError(cls.NOTEBOOK, where, err["msg"], values.get(name)) from None



STANDIN_VALUES = ("offline-standin", "tiny")
"""Parameter values that name a stand-in rather than a model (the construction stand-in, the tiny-llama
training stand-in); ``offline:<name>`` specs are offline baselines, no LLM, except ``offline:ranker``, petool's
own method."""


def standin_note(params: BaseModel) -> str | None:
    """One line naming the stand-ins among a notebook's parameters (None when there are none), for
    whatever the notebook writes: an offline stand-in is named as such in every artifact."""
    found: list[str] = []

    def visit(value: Any) -> None:
        if isinstance(value, str):
            # offline:ranker is petool's own method, not a stand-in (its manifests say so too)
            if value in STANDIN_VALUES or (value.startswith("offline:") and not value.startswith("offline:ranker")):
                found.append(value)
        elif isinstance(value, dict):
            for v in value.values():
                visit(v)
        elif isinstance(value, (list, tuple)):
            for v in value:
                visit(v)

    visit(params.model_dump())
    if not found:
        return None
    return "offline stand-ins, not LLMs: " + ", ".join(dict.fromkeys(found))


_PATH_PARAMS = {"run_dir": ProjectPath, "data": ProjectPath | None, "tools_dir": ToolsDir | None}
"""Parameters that are paths wherever they appear (every other one is taken as typed unless the
notebook gives a schema)."""


def setup(notebook: str, schema: type[NotebookParameters] | Mapping[str, Any] | None = None,
          **values: Any) -> NotebookParameters:
    """The first call of every notebook: display and warnings, the parameters validated, paths resolved
    against the project root, ``run_dir`` created, and ``seed`` applied to Python's and numpy's generators.

    ``schema`` is the notebook's :class:`NotebookParameters` subclass, or a mapping ``{name: type}`` for
    some parameters; a parameter it does not name is a path if :data:`_PATH_PARAMS` says so, an
    integer if it is ``seed``, else taken as typed. ``p = params.setup("01_tool_preparation",
    run_dir=run_dir, tools_dir=tools_dir)``; then ``p.run_dir`` is absolute whatever the kernel's working
    directory, and ``p.standin()`` names any stand-in.
    """
    configure_display()
    if schema is None or isinstance(schema, Mapping):
        types = dict(schema or {})
        fields = {name: (types.get(name, _PATH_PARAMS.get(name, int if name == "seed" else Any)), ...)
                  for name in values}
        schema = create_model(f"Parameters_{notebook}", __base__=NotebookParameters, **fields)
    schema.NOTEBOOK = notebook
    p = schema.check(**values)
    run_dir = getattr(p, "run_dir", None)
    if isinstance(run_dir, Path):
        run_dir.mkdir(parents=True, exist_ok=True)
    seed = getattr(p, "seed", None)
    if isinstance(seed, int) and not isinstance(seed, bool):
        random.seed(seed)
        import numpy as np  # numpy only when a notebook has a seed to give it

        np.random.seed(seed % 2**32)
    return p


# -- profiles: the one reader of params/*.yaml ----------------------------------------------------------

COMMON_KEYS: tuple[str, ...] = ("profile", "run_dir", "report_dir", "seed", "data", "tools_dir", "notebooks")
"""The keys every notebook may receive (besides its own section), if its parameters cell declares them."""


def params_dir(root: Path | None = None) -> Path:
    """``<project root>/params``: where profiles are looked up by name."""
    return (root or REPO_ROOT) / "params"


class ProfileError(ValueError):
    """A profile that cannot be used; the message names the file and the key."""

    def __init__(self, file: str | os.PathLike[str], key: str, problem: str):
        self.file, self.key, self.problem = str(file), key, problem
        super().__init__(f"{file}: key '{key}': {problem}")


class Profile(BaseModel):
    """A validated profile; paths are absolute (relative ones are taken from the project root)."""

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


def profile_path(name_or_path: str | os.PathLike[str], folder: Path | None = None) -> Path:
    """``offline`` means ``<root>/params/offline.yaml``; anything with a suffix or a slash is a path."""
    s = str(name_or_path)
    if s.endswith((".yaml", ".yml")) or os.sep in s or "/" in s:
        return Path(s).expanduser().resolve()
    return (folder or params_dir()) / f"{s}.yaml"


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


def read_params_file(path: str | os.PathLike[str], where: str = "params") -> dict[str, Any]:
    """A YAML mapping of parameters (a profile, or a flat training section for ``petool train --config``),
    with every credential-looking key refused: the only place that parses parameter YAML."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ProfileError(path, "<file>", f"not valid YAML ({exc})") from exc
    except OSError as exc:
        raise ProfileError(path, "<file>", f"cannot be read ({exc.strerror or exc})") from exc
    raw = {} if raw is None else raw
    if not isinstance(raw, dict):
        raise ProfileError(path, "<root>", "expected a mapping of keys to values")
    whole = is_profile(raw)
    section = raw.get("params") if whole else raw
    secret = find_secret_params(section, where if whole else "") if isinstance(section, dict) else []
    if secret:
        raise ProfileError(
            path, secret[0],
            "looks like a credential; papermill would write it into the executed notebook and the report. "
            "Set it in the environment (e.g. OPENAI_API_KEY) instead.",
        )
    return raw


def is_profile(raw: dict[str, Any]) -> bool:
    """A whole profile (``profile`` and ``params`` keys) rather than one flat section."""
    return "profile" in raw and "params" in raw


def load_profile(name_or_path: str | os.PathLike[str], *, root: Path | None = None,
                 params_dir: Path | None = None) -> Profile:
    """Load and validate a profile by name (``<root>/params/<name>.yaml``) or by path.

    Relative paths (``run_dir``, ``report_dir``, ``data``, ``tools_dir``) are resolved against ``root``
    (the project root) so that the CLI, ``make``, papermill and training agree whatever the current directory.
    """
    root = root or REPO_ROOT
    folder = params_dir or root / "params"
    path = profile_path(name_or_path, folder)
    if not path.exists():
        available = sorted(p.stem for p in folder.glob("*.yaml"))
        raise ProfileError(path, "<file>", f"no such profile (available: {', '.join(available) or 'none'})")
    return profile_from_mapping(read_params_file(path), path, root)


def profile_from_mapping(raw: dict[str, Any], path: Path, root: Path | None = None) -> Profile:
    """Validate what :func:`read_params_file` read as a profile; paths resolved against ``root``."""
    root = root or REPO_ROOT
    for k in ("run_dir", "report_dir", "data", "tools_dir"):
        if k in raw and raw[k] is not None and not isinstance(raw[k], (str, os.PathLike)):
            raise ProfileError(path, k, f"expected a path, got {type(raw[k]).__name__}")
    try:
        prof = Profile.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(x) for x in err["loc"]) or "<root>"
        raise ProfileError(path, loc, err["msg"]) from exc
    prof.run_dir = Path(_resolve(prof.run_dir, root))  # type: ignore[arg-type]
    prof.report_dir = Path(_resolve(prof.report_dir, root))  # type: ignore[arg-type]
    prof.data = _resolve(prof.data, root)
    prof.tools_dir = prof.tools_dir if prof.tools_dir == BUILTIN_CORPUS else _resolve(prof.tools_dir, root)
    prof.source = path
    return prof
