"""What every notebook does first: set up display and warnings, and check its parameters.

A notebook runs in two places: papermill (working directory = project root, parameters injected as
Python values) and JupyterLab (working directory = ``notebooks/``, parameters typed by a person, or
passed by ``papermill -p`` as strings). Both must behave the same, so:

* :func:`setup` is the one place that configures plotly, pandas and the warnings a report should not
  show (library deprecation notices are for the kit's developers, not its readers);
* :class:`NotebookParameters` validates a notebook's parameters in one call: relative paths are taken
  from the project root (never the kernel's working directory), a string where a list is expected
  becomes a one-item list, and anything else wrong is a :class:`ParameterError` naming the parameter.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import Annotated, Any, ClassVar, get_args, get_origin

from pydantic import AfterValidator, BaseModel, ConfigDict, ValidationError, create_model, model_validator

from petool_utils.paths import project_path

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


def setup() -> None:
    """Plotly figures that survive nbconvert (the mimetype renders in JupyterLab; the ``notebook``
    renderer puts plotly.js into the HTML once per kernel, which the runner swaps for the report's one
    shared copy), wide pandas columns, DataFrames shown by :func:`petool_utils.report.display.frame_html`,
    and no library warnings in the cells."""
    import pandas as pd
    import plotly.io as pio

    from petool_utils.report.display import register_frame_formatter

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



def check_parameters(notebook: str, **spec: tuple[Any, Any]) -> NotebookParameters:
    """Check a few parameters without declaring a class: ``name=(type, value)``.

    ``check_parameters("06_benchmark_statistics", run_dir=(ProjectPath, run_dir), data=(ProjectPath | None, data))``
    """
    model = create_model(f"Parameters_{notebook}", __base__=NotebookParameters,
                         **{name: (kind, ...) for name, (kind, _) in spec.items()})
    model.NOTEBOOK = notebook
    return model.check(**{name: value for name, (_, value) in spec.items()})
