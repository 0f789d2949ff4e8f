"""A missing input names the file, the folder searched and the notebook (and command) that writes it.

Every stage that reads another stage's output goes through ``benchmark.locate.require_input``; these
tests call each reader (and the stage or CLI command that reads it) on a run folder without the file.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from petool_utils.benchmark.data import DataError
from petool_utils.benchmark.locate import MissingInputError, require_input
from petool_utils.cli import app
from petool_utils.construction import pipeline
from petool_utils.construction.clustering import read_groups
from petool_utils.construction.preferences import read_users
from petool_utils.construction.toolbench import read_tools
from petool_utils.construction.understanding import read_understood
from petool_utils.evaluation.grid import read_metrics
from petool_utils.evaluation.reader import read_predictions
from petool_utils.evaluation.scoring import score_prediction_dir
from petool_utils.training.config import load_config
from petool_utils.training.dpo import train_dpo


def expected(path: Path, notebook: str) -> str:
    return (f"{path} not found: searched {path.parent}; notebook {notebook} writes it "
            f"(`petool run --profile <profile> --only {notebook[:2]}`, after the notebooks before it)")


def test_groups_message_hand_written(tmp_path):
    with pytest.raises(MissingInputError) as err:
        read_groups(tmp_path)
    assert str(err.value) == (f"{tmp_path}/groups.json not found: searched {tmp_path}; notebook 03_tool_clustering "
                              "writes it (`petool run --profile <profile> --only 03`, after the notebooks before it)")


def test_metrics_message_hand_written(tmp_path):
    with pytest.raises(FileNotFoundError) as err:  # a MissingInputError is a FileNotFoundError
        read_metrics(tmp_path)
    assert str(err.value) == (f"{tmp_path}/metrics.json not found: searched {tmp_path}; notebook 07_evaluation "
                              "writes it (`petool run --profile <profile> --only 07`, after the notebooks before it)")


@pytest.mark.parametrize(("reader", "name", "notebook"), [
    (read_tools, "tools.jsonl", "01_tool_preparation"),
    (read_understood, "tools_understood.jsonl", "02_tool_understanding"),
    (read_groups, "groups.json", "03_tool_clustering"),
    (read_users, "users.json", "04_preference_construction"),
    (read_metrics, "metrics.json", "07_evaluation"),
])
def test_each_reader_names_its_producer(tmp_path, reader, name, notebook):
    with pytest.raises(MissingInputError) as err:
        reader(tmp_path)
    assert str(err.value) == expected(tmp_path / name, notebook)


@pytest.mark.parametrize(("rel", "notebook"), [
    ("corpus.json", "01_tool_preparation"),
    ("embeddings_clustering.npy", "03_tool_clustering"),
    ("embeddings_nonfunctional.npy", "04_preference_construction"),
    ("benchmark/train.json", "05_data_creation"),
    ("sft/train.json", "05_data_creation"),
    ("predictions/m/preferred.jsonl", "07_evaluation"),
    ("train/sft/adapter", "08_sft_qlora"),
    ("train/dpo/pairs.jsonl", "09_dpo"),
    ("train/dpo_only/adapter", "09_dpo"),
])
def test_producers_table(tmp_path, rel, notebook):
    with pytest.raises(MissingInputError) as err:
        require_input(tmp_path / rel)
    assert str(err.value) == expected(tmp_path / rel, notebook)


def test_an_existing_input_is_returned(tmp_path):
    (tmp_path / "groups.json").write_text("{}")
    assert require_input(tmp_path / "groups.json") == tmp_path / "groups.json"
    assert read_groups(tmp_path) == {}


def test_predictions_name_notebook_07(tmp_path):
    f = tmp_path / "predictions" / "m" / "preferred.jsonl"
    with pytest.raises(MissingInputError, match=re.escape(expected(f, "07_evaluation"))):
        read_predictions([f])
    (tmp_path / "predictions" / "m").mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match=r"no <setting>\.jsonl predictions files \(searched .*/predictions/m; "
                                                r"notebook 07_evaluation writes it"):
        score_prediction_dir(tmp_path / "predictions" / "m", [])


def test_stages_name_their_first_missing_input(tmp_path):
    """Each construction stage on a run folder holding only what the stages before the missing one wrote."""
    with pytest.raises(MissingInputError, match=re.escape(expected(tmp_path / "tools.jsonl", "01_tool_preparation"))):
        pipeline.stage02_understand(tmp_path, progress=False)
    for stage in (pipeline.stage03_cluster, pipeline.stage04_preferences, pipeline.stage05_create):
        with pytest.raises(MissingInputError, match=re.escape(expected(tmp_path / "tools_understood.jsonl",
                                                                       "02_tool_understanding"))):
            stage(tmp_path)
    (tmp_path / "tools_understood.jsonl").write_text("")
    with pytest.raises(MissingInputError, match=re.escape(expected(tmp_path / "groups.json", "03_tool_clustering"))):
        pipeline.stage05_create(tmp_path)
    (tmp_path / "groups.json").write_text("{}")
    with pytest.raises(MissingInputError, match=re.escape(expected(tmp_path / "users.json",
                                                                   "04_preference_construction"))):
        pipeline.stage05_create(tmp_path)
    with pytest.raises(DataError, match=re.escape(f"not found (searched {tmp_path / 'benchmark'}; notebook "
                                                  "05_data_creation writes it")):
        pipeline.stage06_statistics(tmp_path)


def test_dpo_without_sft_adapter(tmp_path):
    params = load_config("dpo", None, [f"run_dir={tmp_path}"])
    adapter = tmp_path / "train" / "sft" / "adapter"
    with pytest.raises(MissingInputError) as err:
        train_dpo(params, progress=False)
    assert str(err.value) == (f"{adapter} not found: searched {adapter.parent}; notebook 08_sft_qlora writes it "
                              "(`petool run --profile <profile> --only 08`, after the notebooks before it)")


def test_cli_build_exits_2_naming_the_producer(tmp_path):
    res = CliRunner().invoke(app, ["build", "--profile", "offline", "--run-dir", str(tmp_path), "--stages", "02"])
    assert res.exit_code == 2, res.output
    assert f"error: {expected(tmp_path / 'tools.jsonl', '01_tool_preparation')}" in res.output


def test_cli_train_dpo_without_sft_adapter_exits_2(tmp_path):
    res = CliRunner().invoke(app, ["train", "dpo", f"run_dir={tmp_path}", "--quiet"])
    assert res.exit_code == 2, res.output
    adapter = tmp_path / "train" / "sft" / "adapter"
    assert f"error: {adapter} not found: searched {adapter.parent}; notebook 08_sft_qlora writes it" in res.output


def test_cli_train_sft_without_train_split_names_notebook_05(tmp_path):
    res = CliRunner().invoke(app, ["train", "sft", f"run_dir={tmp_path}", "--quiet"])
    assert res.exit_code == 2, res.output
    train = tmp_path / "benchmark" / "train.json"
    assert (f"{train} not found (searched {train.parent}; notebook 05_data_creation writes it "
            "(`petool run --profile <profile> --only 05`") in res.output
