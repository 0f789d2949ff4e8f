"""benchmarks/report_size.py's run block: a profile run's measured time, never a partial run passed for a whole one."""

from __future__ import annotations

import importlib.util
import json

from petool_utils.paths import REPO_ROOT
from petool_utils.params import load_profile

spec = importlib.util.spec_from_file_location("report_size", REPO_ROOT / "benchmarks" / "report_size.py")
report_size = importlib.util.module_from_spec(spec)
spec.loader.exec_module(report_size)


def _status(tmp_path, done: dict[str, float]):
    (tmp_path / "notebooks").mkdir()
    status = {n: {"notebook": n, "status": "ok", "started_utc": f"2026-12-02T21:{i:02d}:00+00:00", "duration_s": s}
              for i, (n, s) in enumerate(done.items())}
    (tmp_path / "notebooks" / "status.json").write_text(json.dumps(status))


def test_run_block_names_what_has_not_finished(tmp_path):
    names = load_profile("small-llm").notebooks
    _status(tmp_path, {names[0]: 60.0, names[1]: 120.0, names[6]: 3600.0})
    text = report_size.run_block(tmp_path, "small-llm", note="Beside other jobs.")
    assert "measured**: 63 min for 3 of 11 notebooks (not finished: " in text
    assert all(n in text.split("not finished: ")[1].split(")")[0] for n in names if n not in (names[0], names[1], names[6]))
    assert "01 1.0, 02 2.0, 07 60.0" in text and "started 2026-12-02 21:00 UTC" in text
    assert "Beside other jobs." in text and "avx512_bf16" in text and "report_size.py --run-block small-llm" in text


def test_run_block_of_a_whole_run_and_of_none(tmp_path):
    names = load_profile("smoke").notebooks
    assert report_size.run_block(tmp_path, "smoke") == "`make reproduce PROFILE=smoke`: not measured yet."
    _status(tmp_path, {n: 30.0 for n in names})
    text = report_size.run_block(tmp_path, "smoke")
    assert f"for all {len(names)} notebooks (minutes each: " in text and "not finished" not in text


def test_run_block_counts_the_attempts_a_kill_cut_short(tmp_path):
    """09 killed after 53 min (its last heartbeat) and resumed for 52.4 min: 105.4 min, said as such."""
    names = load_profile("smoke").notebooks
    _status(tmp_path, {n: 60.0 for n in names})
    path = tmp_path / "notebooks" / "status.json"
    status = json.loads(path.read_text())
    status["09_dpo"] |= {"duration_s": 3144.0, "interrupted": [
        {"started_utc": "2026-12-03T06:25:00+00:00", "last_seen_utc": "2026-12-03T07:18:00+00:00"}]}
    path.write_text(json.dumps(status))
    text = report_size.run_block(tmp_path, "smoke")
    assert "09 105.4 (53.0 of it in 1 interrupted run(s))" in text
    assert f"measured**: {(60 * (len(names) - 1) + 3144 + 3180) / 60:.0f} min for all {len(names)} notebooks" in text
