"""Profiles: validated, paths resolved against the repo root, errors naming file and key."""

from __future__ import annotations

import pytest

from petool_utils.paths import REPO_ROOT
from petool_utils.params import ProfileError, load_profile
from petool_utils.report.runner import notebook_parameters, select_notebooks


@pytest.mark.parametrize("name", ["offline", "smoke", "paper"])
def test_shipped_profiles_load(name):
    prof = load_profile(name)
    assert prof.profile == name
    assert prof.run_dir == REPO_ROOT / "runs" / name and prof.report_dir == REPO_ROOT / "reports" / name
    assert "07_evaluation" in prof.notebooks and "10_error_analysis" in prof.notebooks
    assert prof.params["07_evaluation"]["settings"] == ["preferred", "ratings", "chronological", "none"]


def test_offline_runs_every_offline_model_on_all_data():
    p = load_profile("offline").params["07_evaluation"]
    assert p["models"] == ["offline:random", "offline:retrieval", "offline:history", "offline:ranker",
                           "offline:ranker@crossfit:2", "offline:popularity"]
    assert p["limit"] is None


@pytest.mark.parametrize("name", ["small-llm"])
def test_profiles_that_build_as_the_offline_profile_use_its_construction_sections(name):
    """small-llm says "construction as in the offline profile"; its 03 section had kept ``io_match: none`` after
    the offline profile turned the paper's IO filter on, so its benchmark was built without it."""
    offline, other = load_profile("offline").params, load_profile(name).params
    for nb in ("01_tool_preparation", "02_tool_understanding", "03_tool_clustering", "04_preference_construction",
               "05_data_creation", "06_benchmark_statistics"):
        assert other[nb] == offline[nb], nb


def test_path_and_relative_paths(tmp_path):
    f = tmp_path / "mine.yaml"
    f.write_text("profile: mine\nrun_dir: runs/mine\nreport_dir: /abs/rep\ndata: some/data\n"
                 "notebooks: [07_evaluation]\nparams:\n  07_evaluation:\n", encoding="utf-8")
    prof = load_profile(str(f))
    assert prof.run_dir == REPO_ROOT / "runs" / "mine"
    assert str(prof.report_dir) == "/abs/rep"
    assert prof.data == str(REPO_ROOT / "some" / "data")
    assert prof.params["07_evaluation"] == {} and prof.source == f


def test_tools_dir_builtin_is_a_keyword_not_a_folder(tmp_path):
    """``tools_dir: builtin`` reaches stage 01 as the built-in corpus, from a profile and through a notebook's
    ``params.setup``; any other value is a project path."""
    from petool_utils.construction import BUILTIN_TOOLS_DIR
    from petool_utils.construction.pipeline import resolve_tools_dir
    from petool_utils.params import setup

    f = tmp_path / "b.yaml"
    f.write_text("profile: b\nrun_dir: runs/b\nreport_dir: r\ntools_dir: builtin\nnotebooks: [01_tool_preparation]\n",
                 encoding="utf-8")
    prof = load_profile(str(f))
    assert prof.tools_dir == "builtin"
    p = setup("01_tool_preparation", run_dir=tmp_path / "run", tools_dir=prof.tools_dir)
    assert resolve_tools_dir(p.tools_dir) == BUILTIN_TOOLS_DIR
    q = setup("01_tool_preparation", run_dir=tmp_path / "run", tools_dir="corpora/mine")
    assert q.tools_dir == REPO_ROOT / "corpora" / "mine" and resolve_tools_dir(q.tools_dir) == q.tools_dir


@pytest.mark.parametrize("body, key", [
    ("profile: x\nrun_dir: r\nreport_dir: q\nnotebooks: [a]\nsede: 1\n", "sede"),
    ("profile: x\nrun_dir: r\nreport_dir: q\nnotebooks: [a]\nseed: one\n", "seed"),
    ("profile: x\nreport_dir: q\nnotebooks: [a]\n", "run_dir"),
    ("profile: x\nrun_dir: [1]\nreport_dir: q\nnotebooks: [a]\n", "run_dir"),
    ("profile: x\nrun_dir: r\nreport_dir: q\nnotebooks: [a]\nparams:\n  a: [1]\n", "params.a"),
    ("- just a list\n", "<root>"),
    ("profile: [unclosed\n", "<file>"),
])
def test_bad_profiles_name_file_and_key(tmp_path, body, key):
    f = tmp_path / "bad.yaml"
    f.write_text(body, encoding="utf-8")
    with pytest.raises(ProfileError) as exc:
        load_profile(f)
    assert exc.value.key == key and exc.value.file == str(f)


def test_unknown_profile_lists_the_available_ones():
    with pytest.raises(ProfileError, match="available: .*offline.*smoke"):
        load_profile("nosuch")


def test_only_selects_by_number_prefix_in_profile_order():
    names = ["01_a", "07_evaluation", "10_error_analysis"]
    assert select_notebooks(names, "10,07") == ["07_evaluation", "10_error_analysis"]
    assert select_notebooks(names, "7") == ["07_evaluation"]
    assert select_notebooks(names, None) == names
    with pytest.raises(ValueError, match="'05'"):
        select_notebooks(names, "05")


def test_parameters_filtered_to_declared_names():
    prof = load_profile("smoke")
    params, undeclared = notebook_parameters(prof, "07_evaluation", {"run_dir", "limit", "models", "seed"})
    assert params == {"run_dir": str(REPO_ROOT / "runs" / "smoke"), "seed": 0, "limit": 20,
                      "models": ["offline:random", "offline:history", "offline:ranker", "offline:ranker@crossfit:2"]}
    assert undeclared == ["concurrency", "n_boot", "parser", "settings"]


def test_build_reads_profiles_through_the_one_reader_and_refuses_secrets(tmp_path):
    """`petool build` used to re-read the YAML itself and skip the secret check."""
    from typer.testing import CliRunner

    from petool_utils.cli import app

    p = tmp_path / "bad.yaml"
    p.write_text(f"profile: bad\nrun_dir: {tmp_path / 'run'}\nreport_dir: {tmp_path / 'rep'}\nnotebooks: []\n"
                 "params:\n  02_tool_understanding:\n    access_token: abc123456789\n", encoding="utf-8")
    res = CliRunner().invoke(app, ["build", "--profile", str(p), "--stages", "01"])
    assert res.exit_code == 2 and "params.02_tool_understanding.access_token" in res.stderr
    assert "abc123456789" not in res.output and not (tmp_path / "run").exists()
    p.write_text("profile: bad\nrun_dir: r\nreport_dir: q\nnotebooks: []\nsede: 1\n", encoding="utf-8")
    res = CliRunner().invoke(app, ["build", "--profile", str(p)])
    assert res.exit_code == 2 and "key 'sede'" in res.stderr


def test_one_secret_name_rule_for_environment_parameters_and_manifests():
    from petool_utils.params import find_secret_params
    from petool_utils.secrets import redact_obj as redact, secret_env_values

    names = ["OPENAI_API_KEY", "HF_TOKEN", "api_key", "apiKey", "access_token", "Authorization", "x-api-key",
             "db_password", "client_secret", "max_tokens", "max_new_tokens", "tokenizer", "TOKENIZERS_PARALLELISM",
             "temperature"]
    secret = {"OPENAI_API_KEY", "HF_TOKEN", "api_key", "apiKey", "access_token", "Authorization", "x-api-key",
              "db_password", "client_secret"}
    assert set(find_secret_params({n: 1 for n in names})) == secret
    assert set(redact({n: 1 for n in names}, {})) == set(names) - secret
    assert set(secret_env_values({n: "long-enough-value" for n in names})) == secret
    # the rule is defined once: no other module of the package compiles its own
    import re

    from petool_utils.paths import REPO_ROOT

    defs = [p.relative_to(REPO_ROOT).as_posix() for p in (REPO_ROOT / "petool_utils").rglob("*.py")
            if re.search(r"^SECRET\w* = re\.compile", p.read_text(encoding="utf-8"), re.M)]
    assert defs == ["petool_utils/secrets.py"]


def test_the_standin_note_names_stand_ins_and_baselines_but_not_the_ranker():
    """The one set-up's stand-in label: the construction and training stand-ins and the offline baselines are
    named; petool's own ranker is a method, not a stand-in; an LLM is neither."""
    from petool_utils.params import NotebookParameters, standin_note

    class P(NotebookParameters):
        llm: str
        models: list[str]

    note = standin_note(P(llm="offline-standin", models=["offline:history", "offline:ranker@crossfit:2", "openai:gpt-4o"]))
    assert note == "offline stand-ins, not LLMs: offline-standin, offline:history"
    assert standin_note(P(llm="openai:gpt-4o", models=["offline:ranker"])) is None
