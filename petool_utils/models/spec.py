"""Model specs and the typed registry: the one parser of ``kind:name[@argument]`` and the one place a
name becomes a class.

Before this module a spec was split by ``str.partition`` in five modules, and the copies disagreed: the
folder name of ``openai:qwen2.5:7b`` and ``openai:qwen2.5/7b`` was the same (``openai-qwen2.5-7b``), so
the second evaluation found the first one's answers, sent no request, and reported them as its own.
:attr:`ModelSpec.slug` is therefore unique per spec (the readable text, plus 8 hex digits of the exact
spec's sha256 whenever the readable text had to drop or replace a character), and the run store refuses
a folder whose manifest names another spec (:func:`petool_utils.evaluation.manifest.check_run_folder`).

Grammar: ``kind:name`` or ``kind:name@argument`` for the kinds that take one (``hf``: the PEFT adapter;
``offline``: a prior file or ``crossfit:K``), ``kind`` alone for a backend with no name
(``offline-standin``). An OpenAI-compatible model name is taken whole (``openai:qwen2.5:7b`` names the
model ``qwen2.5:7b``).

:class:`Registry` follows lm-evaluation-harness's ``Registry(base_cls=...)``: an entry is a class or a
lazy ``"module:object"`` string (imported on first use, so a heavy dependency such as torch or the
openai client is only imported when asked for), and :meth:`Registry.get` checks that what it returns is
a subclass of the registry's base class, so a factory that returns anything else is refused at once.
"""

from __future__ import annotations

import hashlib
import importlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

from petool_utils.models.fetch import fetched_label, model_folder_of

EVAL_KINDS = ("openai", "hf", "offline")
"""The kinds a benchmark can be evaluated with (the engine's, the CLI's and notebook 07's)."""

ARGUMENT_KINDS = ("hf", "offline")
"""Kinds whose name is followed by an optional ``@argument``."""

SPEC_FORMS = ("openai:<model>, hf:<path>[@<adapter>] or offline:<random|retrieval|history|ranker|popularity>"
              "[@<prior.json>|@crossfit:K]")

_KIND = re.compile(r"^[a-z][a-z0-9_-]*$")
_SAFE = re.compile(r"^[A-Za-z0-9._-]+$")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


class SpecError(ValueError):
    """A spec that cannot be parsed, or names a kind the caller does not accept; the message gives the forms."""


@dataclass(frozen=True)
class ModelSpec:
    """One model or predictor, parsed once: ``kind``, ``name`` and ``argument`` ("" when absent).

    ``text`` gives back the exact spec; ``slug`` its run folder's name; ``label`` and ``short_label``
    how tables and figures name it; ``row_class`` its Table 1 row style.
    """

    kind: str
    name: str = ""
    argument: str = ""

    @classmethod
    def parse(cls, spec: "str | ModelSpec", kinds: tuple[str, ...] | None = EVAL_KINDS) -> "ModelSpec":
        """Parse ``spec``; ``kinds`` (default: the evaluation kinds) limits what is accepted, None accepts
        any well-formed kind (the LLM backend registry checks those)."""
        if isinstance(spec, ModelSpec):
            parsed = spec
        else:
            text = str(spec or "").strip()
            kind, sep, rest = text.partition(":")
            if not _KIND.match(kind) or (sep and not rest):
                raise SpecError(f"bad model spec {spec!r}; expected {SPEC_FORMS}")
            name, argument = rest, ""
            if kind in ARGUMENT_KINDS and "@" in rest:
                name, _, argument = rest.partition("@")
                if not argument:
                    raise SpecError(f"bad model spec {spec!r}: nothing after '@'; expected {SPEC_FORMS}")
            parsed = cls(kind, name, argument)
        if kinds is not None and (parsed.kind not in kinds or (parsed.kind in EVAL_KINDS and not parsed.name)):
            raise SpecError(f"bad model spec {parsed.text!r}; expected {SPEC_FORMS}")
        return parsed

    @property
    def text(self) -> str:
        """The spec as written (``parse(spec).text == spec``)."""
        rest = self.name + (f"@{self.argument}" if self.argument else "")
        return f"{self.kind}:{rest}" if rest else self.kind

    def __str__(self) -> str:
        return self.text

    @property
    def rest(self) -> str:
        """Everything after ``kind:``."""
        return self.text.partition(":")[2]

    @property
    def digest(self) -> str:
        """8 hex digits of the exact spec's sha256."""
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()[:8]

    @property
    def slug(self) -> str:
        """A filesystem-safe folder name, unique per spec.

        ``offline:ranker`` -> ``offline-ranker`` and ``openai:gpt-4o-mini`` -> ``openai-gpt-4o-mini``: when
        the part after ``kind:`` is already safe text, the slug is that text and nothing is lost. Otherwise
        readable parts are kept and 8 hex digits of the spec's sha256 are added, so specs that read alike
        stay apart (``openai:qwen2.5:7b`` -> ``openai-qwen2.5-7b-<8 hex>``, ``openai:модель`` ->
        ``openai-<8 hex>``). ``hf:`` specs name local paths, so they always carry the digest (two
        checkpoints called ``final`` in different folders); the last path parts stay readable.
        """
        if self.kind != "hf" and _SAFE.match(self.rest):
            return f"{self.kind}-{self.rest}"
        if self.kind == "hf":
            readable = _last_part(self.name) + (f"-{_last_part(self.argument)}" if self.argument else "")
        elif self.kind == "offline" and self.argument and not self.argument.startswith("crossfit"):
            readable = f"{self.name}-prior-{_last_part(self.argument).removesuffix('.json')}"
        else:
            readable = self.rest
        text = _UNSAFE.sub("-", f"{self.kind}-{readable}").strip("-.")
        return f"{text}-{self.digest}"

    @property
    def label(self) -> str:
        """How every table and figure names the model; offline predictors say that they are."""
        if self.kind == "offline":
            if self.name in _OFFLINE_OURS:
                return f"{_OFFLINE_OURS[self.name]}; {self._prior_words()}"
            return f"{self.rest} baseline (offline, no LLM)"
        if self.kind == "openai":
            return f"{self.name} (OpenAI-compatible API)"
        if self.kind == "hf":
            # a folder `petool models fetch` converted is named by its real model, never taken for a stand-in
            folder = model_folder_of(self.name)
            real = fetched_label(folder) if folder else None
            if real and not self.argument:
                return f"{real} (real LLM, HF, local)"
            base = real or Path(self.name).name or self.name
            return (f"{base} + adapter {Path(self.argument).name} (HF, local)" if self.argument
                    else f"{base} (HF, local)")
        return self.text

    @property
    def short_label(self) -> str:
        """A compact label for crowded figure axes, still marking offline and our own method."""
        if self.kind == "offline":
            if self.name in _OFFLINE_OURS:
                what = "ranker (ours, offline" if self.name == "ranker" else "popularity (offline"
                arg = self.argument
                prior = (f", cross-fit {arg.partition(':')[2] or 2}" if arg.startswith("crossfit")
                         else f", prior {Path(arg).name}" if arg
                         else (", cross-fit 2" if self.name == "popularity" else ", no population"))
                return f"{what}{prior})"
            return f"{self.rest} (offline)"
        if self.kind == "hf":
            return (f"{Path(self.name).name}+{Path(self.argument).name}" if self.argument
                    else Path(self.name).name)
        return self.name or self.text

    @property
    def row_class(self) -> str:
        """CSS class of a Table 1 row: ``ours`` for petool's own method, ``baseline`` for offline
        baselines, ``measured`` for any other model we ran."""
        if self.kind == "offline":
            return "ours" if self.name == "ranker" else "baseline"
        return "measured"

    def _prior_words(self) -> str:
        arg = self.argument
        if arg.startswith("crossfit"):
            return f"cross-fitted prior, {arg.partition(':')[2] or '2'} folds by functionality group)"
        if arg:
            return f"prior fitted on training histories: {Path(arg).name})"
        if self.name == "popularity":
            return "cross-fitted prior, 2 folds by functionality group)"
        return "no population: one prompt at a time)"


_OFFLINE_OURS = {"ranker": "petool ranker (ours, offline, no LLM",
                 "popularity": "popularity baseline (offline, no LLM; ignores the user's history"}


def _last_part(path: str) -> str:
    return Path(path.rstrip("/\\")).name or path


def model_slug(spec: "str | ModelSpec") -> str:
    """The run folder name of an evaluation spec (:attr:`ModelSpec.slug`)."""
    return ModelSpec.parse(spec).slug


def spec_labels(specs: "list[str] | tuple[str, ...]") -> dict[str, dict[str, str]]:
    """``{spec: {"label", "short_label", "row_class"}}``: what the report is given to name rows and axes
    (it formats, it does not parse specs)."""
    out = {}
    for s in specs:
        m = ModelSpec.parse(s)
        out[s] = {"label": m.label, "short_label": m.short_label, "row_class": m.row_class}
    return out


# -- the typed registry ------------------------------------------------------------------------------

T = TypeVar("T")


class Registry(Generic[T]):
    """Name -> subclass of ``base_cls``, registered as a class or as a lazy ``"module:object"`` string.

    :meth:`get` imports a lazy entry on first use and refuses anything that is not a subclass of
    ``base_cls`` (lm-evaluation-harness's ``Registry(base_cls=...)``); :meth:`register` checks classes
    given directly at once.
    """

    def __init__(self, what: str, base_cls: type[T]):
        self.what = what
        self.base_cls = base_cls
        self._entries: dict[str, "type[T] | str"] = {}
        self._loaded: dict[str, type[T]] = {}

    def register(self, name: str, target: "type[T] | str | None" = None):
        """``registry.register("x", Cls)`` or ``registry.register("x", "pkg.mod:Cls")``, or as a class
        decorator ``@registry.register("x")``."""
        if target is None:
            def deco(cls: type[T]) -> type[T]:
                self.register(name, cls)
                return cls
            return deco
        if not isinstance(target, str):
            self._check(name, target)
        elif ":" not in target:
            raise TypeError(f"{self.what} {name!r}: a lazy entry is 'module:object', got {target!r}")
        self._entries[name] = target
        self._loaded.pop(name, None)
        return target

    def _check(self, name: str, obj: object) -> type[T]:
        if not (isinstance(obj, type) and issubclass(obj, self.base_cls)):
            raise TypeError(f"{self.what} {name!r} must be a subclass of {self.base_cls.__name__}, got {obj!r}")
        return obj

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def names(self) -> list[str]:
        return sorted(self._entries)

    def entry(self, name: str) -> "type[T] | str":
        """The registered entry as given (a class, or its ``module:object`` string), without importing it."""
        return self._entries[name]

    def get(self, name: str) -> type[T]:
        """The class registered as ``name``, imported if lazy; ``KeyError`` naming the choices when unknown,
        ``ImportError`` naming the entry when its module cannot be imported."""
        if name not in self._entries:
            raise KeyError(f"unknown {self.what} {name!r}; choose one of: {', '.join(self.names())}")
        if name in self._loaded:
            return self._loaded[name]
        target = self._entries[name]
        if isinstance(target, str):
            module, _, attr = target.partition(":")
            try:
                obj = getattr(importlib.import_module(module), attr)
            except (ImportError, AttributeError) as exc:
                raise ImportError(f"{self.what} {name!r} needs {target}, which cannot be imported: {exc}") from exc
            target = self._check(name, obj)
        self._loaded[name] = target
        return target
