"""Typed records for PEToolBench: the released test-entry layout and what its prompts embed.

A released entry carries each setting's interaction history and the candidate tools only inside its
prompt strings. ``load_entries`` parses them out once, so every consumer (prompt renderer, scorer,
ranker, trainer) works on typed records, and a malformed record fails loudly with file, entry and field.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from functools import cached_property
from pathlib import Path
from typing import Any, Iterable, Sequence

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from petool_utils import SETTINGS
from petool_utils.benchmark.locate import (
    SETTING_FILE_SUFFIX,
    find_benchmark_file,
    locate_benchmark,
    missing_input_hint,
    per_setting_files,
)
from petool_utils.io import read_json

HISTORY_MARK = "Interaction history is:\n"
CANDIDATES_MARK = "\n\nAvailable tools you can call with input parameters are listed here:\n"
FORMAT_MARK = "\n\nGenerate your tool call"

class DataError(ValueError):
    """Bad input data; the message names the file, the entry and the field."""

    def __init__(self, file: str | os.PathLike[str] | None, entry_id: Any, field: str, problem: str):
        self.file, self.entry_id, self.field, self.problem = str(file) if file else "<memory>", entry_id, field, problem
        super().__init__(f"{self.file}: entry {entry_id}: field '{field}': {problem}")


def canonical_id(value: Any) -> str:
    """An entry id in the one text form every comparison uses: ``24200`` and ``"24200"`` are one entry.

    The release's ids are integers; ids read back from JSON lines, typed on a command line or made by
    another tool may be strings. Only integers and non-empty strings are ids: ``true`` is not ``1``,
    and ``1.0`` is not an id (a float id is almost always a spreadsheet's doing). Raises ``ValueError``
    saying what the value was.
    """
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValueError(f"an entry id is an integer or a string, got {type(value).__name__} {value!r}")
    text = str(value).strip()
    if not text:
        raise ValueError("an entry id cannot be empty")
    return text


class ToolCall(BaseModel):
    """A call: ``tool_name`` as ``<Category>.<Tool>.<API>`` and its parameters (key order kept)."""

    model_config = ConfigDict(extra="allow")
    tool_name: str
    parameters: dict[str, Any] = Field(default_factory=dict)

    def to_json(self) -> str:
        """The one-line JSON a model is asked to emit (the authors' format)."""
        return json.dumps({"tool_name": self.tool_name, "parameters": self.parameters}, ensure_ascii=False)


class HistoryItem(BaseModel):
    """One past interaction. ``rating`` (1 liked, 0 disliked) only in the rating-integrated setting."""

    model_config = ConfigDict(extra="allow")
    instruction: str
    tool_call: ToolCall
    rating: int | None = None


class ToolParameter(BaseModel):
    model_config = ConfigDict(extra="allow")
    name: str
    type: str | None = None
    description: str | None = None
    default: Any = None


class CandidateTool(BaseModel):
    """A candidate API as listed in the prompt."""

    model_config = ConfigDict(extra="allow")
    tool_name: str
    tool_description: str = ""
    required_parameters: list[ToolParameter] = Field(default_factory=list)
    optional_parameters: list[ToolParameter] = Field(default_factory=list)

    @property
    def parameter_names(self) -> list[str]:
        return [p.name for p in self.required_parameters] + [p.name for p in self.optional_parameters]


class ApiDoc(BaseModel):
    """An API's documentation as in ``api_ground_truth`` and ``apis_same_func``."""

    model_config = ConfigDict(extra="allow")
    api_name: str
    api_desc: str = ""
    tool_name: str
    category_name: str
    required_parameters: list[ToolParameter] = Field(default_factory=list)
    optional_parameters: list[ToolParameter] = Field(default_factory=list)
    tool_desc: str | None = None
    Example: dict[str, Any] | None = None
    api_id: int | None = None

    @property
    def full_name(self) -> str:
        return full_api_name(self.category_name, self.tool_name, self.api_name)


def full_api_name(category: str, tool: str, api: str) -> str:
    """The release's API id: ``<Category>.<Tool>.<API>`` (angle brackets included)."""
    return f"<{category}>.<{tool}>.<{api}>"


def split_api_name(name: str) -> tuple[str, str, str]:
    """Inverse of :func:`full_api_name`; tool and API names may contain dots, brackets never straddle."""
    if not (name.startswith("<") and name.endswith(">")):
        raise ValueError(f"not a <Category>.<Tool>.<API> name: {name!r}")
    inner = name[1:-1]
    parts = inner.split(">.<")
    if len(parts) != 3:
        raise ValueError(f"not a <Category>.<Tool>.<API> name: {name!r}")
    return parts[0], parts[1], parts[2]


def split_prompt(prompt: str) -> tuple[str, str, str, str]:
    """Split a setting's prompt into (head, history JSON, candidates JSON, tail). Raises ValueError."""
    i = prompt.index(HISTORY_MARK) + len(HISTORY_MARK)
    j = prompt.index(CANDIDATES_MARK, i)
    k = prompt.index(FORMAT_MARK, j)
    return prompt[:i], prompt[i:j], prompt[j + len(CANDIDATES_MARK) : k], prompt[k:]


class Entry(BaseModel):
    """A released PEToolBench test entry, with the typed histories and candidates parsed out."""

    model_config = ConfigDict(extra="allow")
    entry_id: int | str
    query: str
    instruction_preferred: str | None = None
    instruction_ratings: str | None = None
    instruction_chronological: str | None = None
    apis_candidate: str
    api_call_ground_truth: ToolCall
    api_ground_truth: ApiDoc | None = None
    func: str | None = None
    apis_same_func: list[ApiDoc] = Field(default_factory=list)
    tool_comb: list[str] = Field(default_factory=list)
    num_tools_combined: str | int | None = None
    history_length: int | None = None

    histories: dict[str, list[HistoryItem]] = Field(default_factory=dict, exclude=True)
    candidates: list[CandidateTool] = Field(default_factory=list, exclude=True)

    @field_validator("entry_id", mode="before")
    @classmethod
    def _integer_or_text(cls, v: Any) -> Any:
        canonical_id(v)  # a bool, a float or an empty string is refused, not coerced
        return v

    @property
    def key(self) -> str:
        """The id in its canonical text form (see :func:`canonical_id`)."""
        return canonical_id(self.entry_id)

    def prompt(self, setting: str) -> str:
        """The released prompt string of a setting."""
        value = getattr(self, f"instruction_{setting}", None)
        if value is None:
            raise DataError(None, self.entry_id, f"instruction_{setting}", "missing")
        return value

    def input_fingerprint(self, setting: str) -> str:
        """16 hex digits of sha256 over what a model is shown in ``setting``: the query and the field its
        history and candidates are parsed from (the setting's prompt; ``apis_candidate`` for ``none``).

        A run store keeps it on each line, so a run resumed after the benchmark changed under the same
        output folder asks again for the entries whose inputs changed instead of keeping stale answers.
        Raw fields, not a re-rendering: about 20 us an entry, against 0.15 ms to render the prompt."""
        source = self.apis_candidate if setting == "none" else getattr(self, f"instruction_{setting}", None) or ""
        return hashlib.sha256(f"{setting}\0{self.query}\0{source}".encode("utf-8")).hexdigest()[:16]

    def history(self, setting: str) -> list[HistoryItem]:
        if setting == "none":
            return []
        return self.histories[setting]

    @property
    def reference(self) -> ToolCall:
        return self.api_call_ground_truth

    @cached_property
    def same_func_names(self) -> list[str]:
        """Full names of the reference's functionality group (the preferred tool and its alternatives)."""
        return [d.full_name for d in self.apis_same_func]

    @property
    def candidate_names(self) -> list[str]:
        return [c.tool_name for c in self.candidates]

    def release_record(self) -> dict[str, Any]:
        """The entry in the release's record layout (what ``json.dump`` of the release gives)."""
        return self.model_dump(mode="json", exclude_none=False, exclude={"histories", "candidates"}, by_alias=True)


def parse_entry(raw: dict[str, Any], file: str | os.PathLike[str] | None = None, index: int | None = None,
                settings: Sequence[str] = SETTINGS) -> Entry:
    """Validate one raw record and parse its prompts; errors name file, entry and field.

    ``settings`` are the prompts the record must carry: all three for a test entry; a released training
    record (one file per setting) carries the one of its file.
    """
    if not isinstance(raw, dict):
        raise DataError(file, f"#{index}", "<record>", f"expected a JSON object, got {type(raw).__name__}")
    eid = raw.get("entry_id", f"#{index}")
    try:
        entry = Entry.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(x) for x in err["loc"])
        raise DataError(file, eid, loc, err["msg"]) from exc
    try:
        cands = json.loads(entry.apis_candidate)
        if not isinstance(cands, list):
            raise TypeError(f"a JSON {type(cands).__name__}, not a list")
        entry.candidates = [CandidateTool.model_validate(c) for c in cands]
    except (json.JSONDecodeError, ValidationError, TypeError, RecursionError) as exc:
        raise DataError(file, eid, "apis_candidate", f"not a JSON list of tools ({_first_line(exc)})") from exc
    for setting in SETTINGS:
        field = f"instruction_{setting}"
        prompt = getattr(entry, field)
        if prompt is None and setting not in settings:
            continue
        if prompt is None:
            # Scoring, prompts and training all need every setting; a gap found half-way through a
            # run would leave the settings before it written and the rest not.
            raise DataError(file, eid, field, "missing or null: every entry needs the prompt of each of "
                            f"the settings {', '.join(SETTINGS)}")
        try:
            _, hist_json, _, _ = split_prompt(prompt)
        except ValueError as exc:
            raise DataError(file, eid, field, "prompt lacks the history/candidates markers") from exc
        try:
            items = json.loads(hist_json)
            if not isinstance(items, list):
                raise TypeError(f"a JSON {type(items).__name__}, not a list")
            entry.histories[setting] = [HistoryItem.model_validate(x) for x in items]
        except (json.JSONDecodeError, ValidationError, TypeError, RecursionError) as exc:
            raise DataError(file, eid, field, f"interaction history is not a JSON list of calls ({_first_line(exc)})") from exc
    _check_text(raw, entry, file, eid)
    return entry


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


def _lone_surrogate(obj: Any, path: str) -> str | None:
    """The path (``query``, ``apis_candidate[2].tool_name``) of the first text holding a lone surrogate
    (``"\\ud800"`` in the JSON), else None. Such text is valid JSON but cannot be written as UTF-8: it
    would stop a run half-way, at the first line that holds it."""
    if isinstance(obj, str):
        if obj.isascii():
            return None
        try:
            obj.encode("utf-8")
        except UnicodeEncodeError:
            return path
        return None
    if isinstance(obj, dict):
        for k, v in obj.items():
            found = _lone_surrogate(k, f"{path}.<key>" if path else "<key>") or \
                _lone_surrogate(v, f"{path}.{k}" if path else str(k))
            if found:
                return found
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            found = _lone_surrogate(v, f"{path}[{i}]")
            if found:
                return found
    return None


def _check_text(raw: dict[str, Any], entry: Entry, file: str | os.PathLike[str] | None, eid: Any) -> None:
    """Every text of a record, and the tool lists and histories parsed out of its strings, is writable
    UTF-8; otherwise a :class:`DataError` naming the field, before anything is written."""
    nested: list[tuple[str, Any]] = [("", lambda: raw)]
    # the JSON inside a string can hold a surrogate only as an escape (a pair is an emoji, walked all the same)
    if _SURROGATE_ESCAPE.search(entry.apis_candidate):
        nested.append(("apis_candidate", lambda: [c.model_dump() for c in entry.candidates]))
    for s, items in entry.histories.items():
        if _SURROGATE_ESCAPE.search(getattr(entry, f"instruction_{s}") or ""):
            nested.append((f"instruction_{s}", lambda items=items: [h.model_dump() for h in items]))
    for path, obj in nested:
        found = _lone_surrogate(obj(), path)
        if found:
            raise DataError(file, eid, found, "holds a lone surrogate (a \\ud800-\\udfff escape without its pair): "
                            "not encodable as UTF-8, so no answer to it could be written")


def _first_line(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text.splitlines()[0]


def _read_list(path: str | os.PathLike[str]) -> list[Any]:
    """A JSON list from ``.json``/``.json.gz``; every way the file can be broken is a :class:`DataError`."""
    try:
        raw = read_json(path)
    except ValueError as exc:  # read_json names the file: invalid JSON, bad gzip, bad UTF-8
        raise DataError(path, "-", "<file>", str(exc).split(": ", 1)[-1]) from exc
    except FileNotFoundError as exc:
        raise DataError(path, "-", "<file>", f"not found ({missing_input_hint(path)})") from exc
    except OSError as exc:
        raise DataError(path, "-", "<file>", f"cannot be read ({exc.strerror or exc})") from exc
    if not isinstance(raw, list):
        raise DataError(path, "-", "<root>", f"expected a JSON list of entries, got a JSON {type(raw).__name__}")
    return raw


def _check_unique(entries: Iterable[Entry], file: str | os.PathLike[str]) -> None:
    seen: dict[str, Any] = {}
    for e in entries:
        if e.key in seen:
            raise DataError(file, e.entry_id, "entry_id",
                            f"duplicate entry_id (as text): {seen[e.key]!r} and {e.entry_id!r} are one entry")
        seen[e.key] = e.entry_id


def load_entries(path: str | os.PathLike[str], limit: int | None = None) -> list[Entry]:
    """Load the release's test layout: one JSON list (``.json`` or ``.json.gz``) of entries."""
    path = Path(path)
    if limit is not None and limit < 0:
        raise ValueError(f"limit must be >= 0 or None, got {limit}")
    raw = _read_list(path)
    if limit is not None:
        raw = raw[:limit]
    entries = [parse_entry(r, path, i) for i, r in enumerate(raw)]
    _check_unique(entries, path)
    return entries


def load_per_setting(paths: dict[str, str | os.PathLike[str]]) -> list[Entry]:
    """Load the per-setting layout (``user_entries_test_{p,r,c}.json``) and merge it by ``entry_id``.

    Each file is a JSON list of entries whose prompt is under ``instruction`` (or already under
    ``instruction_<setting>``); merged, they give the combined layout that :func:`load_entries` reads.
    Every entry must be in every file: one missing from a file is an error naming that file.
    """
    merged: dict[str, dict[str, Any]] = {}
    order: list[str] = []
    present: dict[str, set[str]] = {}
    for setting, p in paths.items():
        raw = _read_list(p)
        present[setting] = set()
        for i, r in enumerate(raw):
            if not isinstance(r, dict):
                raise DataError(p, f"#{i}", "<record>", f"expected a JSON object, got {type(r).__name__}")
            if "entry_id" not in r:
                raise DataError(p, f"#{i}", "entry_id", "missing")
            try:
                key = canonical_id(r["entry_id"])
            except ValueError as exc:
                raise DataError(p, r["entry_id"], "entry_id", str(exc)) from exc
            if key in present[setting]:
                raise DataError(p, r["entry_id"], "entry_id", "duplicate entry_id (as text) in this file")
            present[setting].add(key)
            rec = merged.setdefault(key, {})
            if not rec:
                order.append(key)
            for k, v in r.items():
                if k == "instruction":
                    rec[f"instruction_{setting}"] = v
                else:
                    rec.setdefault(k, v)
    for setting, p in paths.items():
        absent = [k for k in order if k not in present[setting]]
        if absent:
            raise DataError(p, merged[absent[0]]["entry_id"], "instruction",
                            f"entry missing from this file ({len(absent)} entries are); every entry needs all "
                            "three per-setting files")
    first = Path(next(iter(paths.values())))
    where = first.parent / f"user_entries_test_{{{','.join(SETTING_FILE_SUFFIX[s] for s in paths)}}}.json"
    return [parse_entry(merged[k], where, i) for i, k in enumerate(order)]


def load_benchmark(data: str | os.PathLike[str] | None = None, limit: int | None = None) -> list[Entry]:
    """Load whatever benchmark ``data`` names: a file, or a folder with the combined or per-setting layout;
    None: the one search order (:func:`~petool_utils.benchmark.locate.locate_benchmark`)."""
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
        raise ValueError(f"limit must be a whole number >= 0 or None, got {limit!r}")
    p = Path(data).expanduser() if data else locate_benchmark(None)
    per = per_setting_files(p) if p.is_dir() else None
    if per is not None:
        entries, where = load_per_setting(per), next(iter(per.values()))
        entries = entries[:limit] if limit is not None else entries
    else:
        where = find_benchmark_file(p)
        entries = load_entries(where, limit=limit)
    if not entries and limit != 0:  # like an empty predictions file: a run over it would "succeed" doing nothing
        raise DataError(where, "-", "<root>", "an empty list: the benchmark holds no entries")
    return entries


def dump_entries(entries: Iterable[Entry]) -> list[dict[str, Any]]:
    return [e.release_record() for e in entries]
