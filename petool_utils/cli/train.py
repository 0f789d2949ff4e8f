"""``petool train sft|dpo|memory``: the training stages without a notebook (cluster jobs, accelerate).

    petool train sft --config params/paper.yaml [key=value ...]
    accelerate launch --config_file configs/accelerate/ddp.yaml -m petool_utils.cli train sft --config ...
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import List, Optional

import typer

train_app = typer.Typer(add_completion=False, no_args_is_help=True, help="PEToolLLaMA training: QLoRA SFT, then DPO.")

CONFIG_HELP = ("A flat YAML section, or a profile (params/*.yaml) whose 08_sft_qlora.sft / 09_dpo.dpo section is used. "
               "Keys are petool's own (base_model, quantization, lora, settings, data, limits, sampling) or fields of "
               "trl.SFTConfig / trl.DPOConfig, passed through.")
TRAIN_DATA_HELP = ("Training data (same as train_data=PATH): a benchmark in the release layout, or the released "
                   "user_entries_sft_*/user_entries_dpo_* files (or their folder). Default: <run_dir>/benchmark/train.json.")
OVERRIDES_HELP = "key=value overrides, values read as YAML (limit=16 lora.r=8 learning_rate=1e-4 train_data=PATH)."


def _echo_summary(result) -> None:
    typer.echo(json.dumps(result.summary(), indent=2, default=str))


def _run(kind: str, config: Optional[Path], overrides: List[str], quiet: bool) -> None:
    """Load the config and train; a bad config or missing data is a clear message and exit 2, not a traceback."""
    from petool_utils.training.config import load_config
    from petool_utils.training.data import TrainingDataError

    try:
        params = load_config(kind, config, overrides)
        if kind == "sft":
            from petool_utils.training.sft import train_sft as train
        else:
            from petool_utils.training.dpo import train_dpo as train
        result = train(params, progress=not quiet)
    except (TrainingDataError, FileNotFoundError, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    _echo_summary(result)


def _stage_command(kind: str, doc: str) -> None:
    """``petool train sft`` and ``petool train dpo`` take the same options; only the stage differs."""

    def command(
        config: Optional[Path] = typer.Option(None, "--config", "-c", help=CONFIG_HELP, exists=True, dir_okay=False),
        overrides: Optional[List[str]] = typer.Argument(None, help=OVERRIDES_HELP),
        train_data: Optional[Path] = typer.Option(None, "--train-data", help=TRAIN_DATA_HELP),
        quiet: bool = typer.Option(False, "--quiet", help="no progress bars"),
    ) -> None:
        extra = [f"train_data={train_data}"] if train_data else []
        _run(kind, config, [*(overrides or []), *extra], quiet)

    command.__doc__ = doc
    train_app.command(kind)(command)


_stage_command("sft", "Supervised fine-tuning of a LoRA adapter (4-bit QLoRA when CUDA is present).")
_stage_command("dpo", "Sample K calls per instruction from the SFT adapter, build pairs, train DPO.")


@train_app.command("memory")
def memory_cmd(
    seq_len: int = typer.Option(4096, help="tokens per sequence"),
    micro_batch: int = typer.Option(2, help="sequences per device per step"),
    lora_r: int = typer.Option(16, help="LoRA rank (all linear layers)"),
    completion_tokens: int = typer.Option(64, help="tokens per sequence that carry loss (the call)"),
) -> None:
    """Estimated peak GPU memory of QLoRA on Llama-3.1-8B, term by term (GiB), and the KV cache of DPO sampling."""
    from petool_utils.training.memory import estimate_qlora_memory, kv_cache_gib

    est = estimate_qlora_memory(seq_len=seq_len, micro_batch=micro_batch, lora_r=lora_r, completion_tokens=completion_tokens)
    for name, gib in est.as_rows():
        typer.echo(f"{name:32s} {gib:8.2f}")
    typer.echo(f"{'dpo_sampling_kv_cache (1 x 8)':32s} {kv_cache_gib(tokens=seq_len + 256, sequences=8):8.2f}")


def register(app: typer.Typer) -> None:
    app.add_typer(train_app, name="train")
