"""Fuzz: hypothesis corrupts a valid benchmark file and a valid predictions file (truncation, byte flips,
wrong types, missing fields). `petool score`, `petool prompts` and the loading of `petool eval`
(``cli.evaluate._load``, the step before anything is written) never print a traceback; a failure is
exit 2 with a message and leaves no output file behind.

In-process (typer's CliRunner) on the benchmark constructed from the built-in corpus, so each example
costs milliseconds and no released data is needed.
"""

from __future__ import annotations

import gzip
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from typer.testing import CliRunner

from petool_utils.cli import app

FUZZ = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                        HealthCheck.function_scoped_fixture])

json_values = st.recursive(st.none() | st.booleans() | st.integers(-3, 10**6) | st.floats(allow_nan=False)
                           | st.text(max_size=8), lambda kids: st.lists(kids, max_size=2)
                           | st.dictionaries(st.text(max_size=4), kids, max_size=2), max_leaves=4)


@dataclass(frozen=True)
class Corruption:
    """One hypothesis-chosen corruption of a JSON list of records (small repr, applied on demand)."""

    kind: str  # truncate | flip | wrong_type | missing_field
    where: float  # which byte / record, as a fraction of the length
    key: int = 0  # which field of the record
    xor: int = 1
    value: Any = None

    def mutate(self, records: list[dict]) -> list[dict]:
        """A copy of the records with one record's field given a wrong type or removed."""
        recs = json.loads(json.dumps(records))
        rec = recs[min(int(self.where * len(recs)), len(recs) - 1)]
        field = sorted(rec)[self.key % len(rec)]
        if self.kind == "wrong_type":
            rec[field] = self.value
        else:
            del rec[field]
        return recs

    def apply(self, records: list[dict]) -> bytes:
        recs = json.loads(json.dumps(records))
        if self.kind in ("wrong_type", "missing_field"):
            return json.dumps(self.mutate(recs), ensure_ascii=False).encode("utf-8")
        data = json.dumps(recs, ensure_ascii=False).encode("utf-8")
        i = min(int(self.where * len(data)), len(data) - 1)
        if self.kind == "truncate":
            return data[:i]
        return data[:i] + bytes([data[i] ^ self.xor]) + data[i + 1:]


corruptions = st.builds(Corruption, kind=st.sampled_from(["truncate", "flip", "wrong_type", "missing_field"]),
                        where=st.floats(0, 1, exclude_max=True), key=st.integers(0, 30), xor=st.integers(1, 255),
                        value=json_values)


def invoke(args: list[str]):
    res = CliRunner().invoke(app, args)
    assert res.exception is None or isinstance(res.exception, SystemExit), repr(res.exception)
    assert "Traceback" not in res.output
    assert res.exit_code in (0, 2), res.output
    if res.exit_code == 2:
        assert "error:" in res.stderr
    return res


class Records(list):
    """Records with a short repr: hypothesis prints its arguments when an example fails."""

    def __repr__(self) -> str:
        return f"<{len(self)} records>"


@pytest.fixture(scope="module")
def bench_records(constructed_path):
    return Records(json.loads(constructed_path.read_text(encoding="utf-8")))


@pytest.fixture(scope="module")
def prediction_records(constructed_entries):
    return Records({"entry_id": e.entry_id, "setting": "preferred", "latency_s": 0.1, "error": None,
                    "response": json.dumps({"tool_name": e.reference.tool_name, "parameters": e.reference.parameters})}
                   for e in constructed_entries)


def load_for_eval(bench: Path) -> None:
    """What `petool eval` does before it writes anything: the entries, or exit 2 with a message."""
    import typer

    from petool_utils.cli.evaluate import _load

    try:
        entries, _ = _load(str(bench), None)
    except typer.Exit as exc:
        assert exc.exit_code == 2
        return
    assert entries


def jsonl(records: list[dict]) -> bytes:
    return "".join(json.dumps(r) + "\n" for r in records).encode("utf-8")


@FUZZ
@given(corrupt=corruptions, gz=st.booleans())
def test_corrupt_benchmark(bench_records, prediction_records, corrupt, gz):
    blob = corrupt.apply(bench_records)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        bench = tmp / ("bench.json.gz" if gz else "bench.json")
        bench.write_bytes(gzip.compress(blob) if gz else blob)
        preds = tmp / "preferred.jsonl"
        preds.write_bytes(jsonl(prediction_records))
        invoke(["score", str(preds), "--data", str(bench), "--n-boot", "0"])
        res = invoke(["prompts", "--data", str(bench), "--out", str(tmp / "out" / "requests.jsonl")])
        if res.exit_code == 2:
            assert not (tmp / "out").exists()
        load_for_eval(bench)


@FUZZ
@given(corrupt=corruptions, lines=st.booleans())
def test_corrupt_predictions(constructed_path, prediction_records, corrupt, lines):
    if lines:  # one JSON line per record, the file a run writes, with bytes truncated or flipped
        raw = jsonl(prediction_records)
        i = min(int(corrupt.where * len(raw)), len(raw) - 1)
        blob = raw[:i] if corrupt.kind == "truncate" else raw[:i] + bytes([raw[i] ^ corrupt.xor]) + raw[i + 1:]
        if corrupt.kind in ("wrong_type", "missing_field"):  # a record's field replaced or removed
            blob = jsonl(corrupt.mutate(prediction_records))
    else:  # the whole file one JSON document: every line of it is unusable
        blob = corrupt.apply(prediction_records)
    with tempfile.TemporaryDirectory() as tmp:
        preds = Path(tmp) / "preferred.jsonl"
        preds.write_bytes(blob)
        for extra in ([], ["--json"], ["--errors", "--parser", "robust"]):
            invoke(["score", str(preds), "--data", str(constructed_path), "--n-boot", "0", *extra])
        assert sorted(p.name for p in Path(tmp).iterdir()) == ["preferred.jsonl"]  # nothing written beside it
