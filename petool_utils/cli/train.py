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
OVERRIDES_HELP = "key=value overrides, values read as YAML (limit=16 lora.r=8 learning_rate=1e-4 train_data=PATH)."


def _echo_summary(result) -> None:
    typer.echo(json.dumps(result.summary(), indent=2, default=str))


@train_app.command("sft")
def sft_cmd(
    config: Optional[Path] = typer.Option(None, "--config", "-c", help=CONFIG_HELP, exists=True, dir_okay=False),
    overrides: Optional[List[str]] = typer.Argument(None, help=OVERRIDES_HELP),
    quiet: bool = typer.Option(False, "--quiet", help="no progress bars"),
) -> None:
    """Supervised fine-tuning of a LoRA adapter (4-bit QLoRA when CUDA is present)."""
    from petool_utils.training.config import load_config
    from petool_utils.training.sft import train_sft

    params = load_config("sft", config, overrides or [])
    _echo_summary(train_sft(params, progress=not quiet))


@train_app.command("dpo")
def dpo_cmd(
    config: Optional[Path] = typer.Option(None, "--config", "-c", help=CONFIG_HELP, exists=True, dir_okay=False),
    overrides: Optional[List[str]] = typer.Argument(None, help=OVERRIDES_HELP),
    quiet: bool = typer.Option(False, "--quiet", help="no progress bars"),
) -> None:
    """Sample K calls per instruction from the SFT adapter, build pairs, train DPO."""
    from petool_utils.training.config import load_config
    from petool_utils.training.dpo import train_dpo

    params = load_config("dpo", config, overrides or [])
    _echo_summary(train_dpo(params, progress=not quiet))


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
