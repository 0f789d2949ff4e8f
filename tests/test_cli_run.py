"""`petool run`: a bad profile is a clear error (exit 2); --index-only and --only on missing notebooks."""

from __future__ import annotations

from typer.testing import CliRunner

from petool_utils.cli import app


def test_bad_profile_exits_2_naming_file_and_key(tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text("profile: bad\nrun_dir: r\nreport_dir: q\nnotebooks: [07_evaluation]\nseed: zero\n")
    res = CliRunner().invoke(app, ["run", "--profile", str(p)])
    assert res.exit_code == 2
    assert str(p) in res.output and "key 'seed'" in res.output


def test_missing_notebooks_are_listed_and_the_index_is_built(tmp_path):
    p = tmp_path / "p.yaml"
    p.write_text(f"profile: p\nrun_dir: {tmp_path / 'run'}\nreport_dir: {tmp_path / 'rep'}\n"
                 "notebooks: [07_evaluation, 10_error_analysis]\n")
    res = CliRunner().invoke(app, ["run", "--profile", str(p), "--only", "10",
                                   "--notebooks-dir", str(tmp_path / "none")])
    assert res.exit_code == 0, res.output
    assert "missing  10_error_analysis" in res.output
    assert (tmp_path / "rep" / "index.html").exists()
    res = CliRunner().invoke(app, ["run", "--profile", str(p), "--only", "05"])
    assert res.exit_code == 2 and "no such notebook" in res.output
    (tmp_path / "rep" / "index.html").unlink()
    res = CliRunner().invoke(app, ["run", "--profile", str(p), "--index-only"])
    assert res.exit_code == 0 and (tmp_path / "rep" / "index.html").exists()
