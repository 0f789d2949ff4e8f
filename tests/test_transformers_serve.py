"""Against a server nobody here wrote: `transformers serve` (the OpenAI-compatible server that ships with
transformers) serving the tiny stand-in after SFT, evaluated with `petool eval --model openai:<folder>`,
and compared with `petool eval --model hf:<folder>` on the same entries at temperature 0."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from petool_utils.models.local_server import free_port, running_server, transformers_serve_argv

pytest.importorskip("trl")
pytestmark = pytest.mark.slow

runner = CliRunner()


@pytest.fixture(scope="module")
def merged_model(tiny_sft_run):
    """The tiny training test's SFT run (shared, not retrained: ``tiny_sft_run`` in conftest, on the dev
    slice or else a constructed split), its adapter merged into one folder."""
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    res = tiny_sft_run
    run_dir = res.output_dir.parent.parent
    merged = run_dir / "tiny-merged"
    model = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(str(res.base_model)), str(res.adapter_dir))
    model.merge_and_unload().save_pretrained(str(merged))
    AutoTokenizer.from_pretrained(str(res.adapter_dir)).save_pretrained(str(merged))
    for marker in ("petool_model.json", "STANDIN.md"):  # still the stand-in, and every artifact says so
        shutil.copy(Path(res.base_model) / marker, merged / marker)
    return merged, res.output_dir / "train_entries.json"


@pytest.fixture
def served(monkeypatch, tmp_path):
    """`transformers serve` on a free loopback port, in its own process group; stopped (and checked) at the end."""
    port = free_port()
    with running_server(transformers_serve_argv(port), f"http://127.0.0.1:{port}/health", start_timeout=120,
                        log=tmp_path / "transformers-serve.log") as proc:
        for var in ("OPENAI_API_KEY", "PETOOL_OPENAI_API_KEY", "PETOOL_OPENAI_BASE_URL"):
            monkeypatch.delenv(var, raising=False)
        monkeypatch.setenv("OPENAI_BASE_URL", f"http://127.0.0.1:{port}/v1")
        yield proc
    assert proc.poll() is not None  # the server does not outlive the test


def test_transformers_serve_answers_as_the_hf_backend_does(merged_model, served, tmp_path):
    from petool_utils.cli import app
    from petool_utils.models.spec import model_slug

    folder, entries_file = merged_model
    common = ["--data", str(entries_file), "--settings", "preferred", "--temperature", "0", "--max-tokens", "64",
              "--no-progress"]
    res = runner.invoke(app, ["eval", "--model", f"openai:{folder}", "--out", str(tmp_path / "served"),
                              "--concurrency", "4", *common])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["eval", "--model", f"hf:{folder}", "--out", str(tmp_path / "local"), *common])
    assert res.exit_code == 0, res.output

    def answers(path: Path) -> dict:
        return {json.loads(x)["entry_id"]: json.loads(x)["response"] for x in path.read_text().splitlines()}

    served_run = tmp_path / "served" / model_slug(f"openai:{folder}")
    a = answers(served_run / "preferred.jsonl")
    b = answers(tmp_path / "local" / model_slug(f"hf:{folder}") / "preferred.jsonl")
    assert set(a) == set(b) and len(a) >= 8
    same = sum(a[k] == b[k] for k in a)
    print(f"transformers serve vs hf backend: {same}/{len(a)} responses identical")
    assert same / len(a) >= 0.9, [(a[k], b[k]) for k in a if a[k] != b[k]]

    res = runner.invoke(app, ["score", str(served_run), "--data", str(entries_file), "--json", "--n-boot", "0"])
    assert res.exit_code == 0, res.output
    scores = json.loads(res.output.strip().splitlines()[-1])
    print(f"served model: Tool Acc {scores['preferred']['tool_acc']:.3f}, Param Acc {scores['preferred']['param_acc']:.3f}")
    assert scores["preferred"]["tool_acc"] > 0
