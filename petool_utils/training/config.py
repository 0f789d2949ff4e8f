"""Training parameters as plain dataclasses, read from a YAML file and ``key=value`` overrides.

Defaults are the paper's settings (PEToolLLM, section 5: QLoRA SFT then DPO on LLaMA-3.1-8B-Instruct),
so a config only names what differs. The same dataclasses serve the CLI (``petool train sft --config``)
and the notebooks (a profile's ``params.08_sft_qlora.sft`` / ``params.09_dpo.dpo`` mapping), so a
notebook run and a cluster job cannot drift apart.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence, TypeVar

import yaml

from petool_utils import SETTINGS

TINY = "tiny"
"""``base_model: tiny`` builds the tiny-llama stand-in (not PEToolLLaMA) from the training text."""

PAPER_BASE_MODEL = "models/Meta-Llama-3.1-8B-Instruct"
"""Where the paper profile expects the base weights (a local path; nothing is downloaded)."""


@dataclass
class LoraParams:
    """LoRA on all linear layers. r=16, alpha=32, dropout=0.05 is our documented choice: the paper
    names QLoRA but not the rank; these are the common QLoRA settings for 7-8B models."""

    r: int = 16
    alpha: int = 32
    dropout: float = 0.05
    target_modules: str | list[str] = "all-linear"


@dataclass
class DataParams:
    """Which benchmark entries become training records and how their prompts are cut.

    ``train_data``: a benchmark file/folder in the release layout; ``None`` means
    ``<run_dir>/benchmark/train.json`` if it exists, else the released data (``data``), sliced by
    ``limit``. ``max_history``/``max_candidates`` shorten prompts (see ``records.shorten_entry``);
    records longer than ``max_length`` tokens are dropped and counted, never truncated (truncation
    would cut the call, which sits at the end).
    """

    train_data: str | None = None
    data: str | None = None
    limit: int | None = None
    offset: int = 0
    settings: list[str] = field(default_factory=lambda: list(SETTINGS))
    max_history: int | None = None
    max_candidates: int | None = None
    max_records: int | None = None


@dataclass
class SFTParams(DataParams):
    """Paper SFT: lr 1e-4, cosine, warmup 0.1, 1 epoch, per-device batch 2 x 8 accumulation, 4,096 tokens."""

    run_dir: str = "runs/offline"
    output_dir: str | None = None  # default <run_dir>/train/sft
    base_model: str = PAPER_BASE_MODEL
    tiny_vocab_size: int = 2048
    max_length: int = 4096
    learning_rate: float = 1e-4
    lr_scheduler_type: str = "cosine"
    warmup_ratio: float = 0.1
    num_train_epochs: float = 1.0
    max_steps: int = -1
    per_device_train_batch_size: int = 2
    gradient_accumulation_steps: int = 8
    gradient_checkpointing: bool = True
    quantization: str = "auto"  # auto: 4-bit NF4 when CUDA is present; "4bit" forces it (CPU too); "none"
    logging_steps: int = 1
    seed: int = 0
    cpu_threads: int | None = None  # torch threads on CPU; 1 is fastest for tiny models on a busy machine
    save_steps: int = 0  # > 0: checkpoint every N steps under <output_dir>/checkpoints; a rerun resumes
    lora: LoraParams = field(default_factory=LoraParams)

    def resolved_output_dir(self) -> Path:
        return Path(self.output_dir) if self.output_dir else Path(self.run_dir) / "train" / "sft"


@dataclass
class DPOParams(DataParams):
    """Paper DPO: sigmoid loss, beta 0.1, lr 5e-6, cosine, warmup 0.1, per-device batch 1 x 32.

    ``init``: ``sft`` starts from the SFT adapter (the paper's SFT+DPO), ``base`` trains a fresh LoRA
    on the base model (the paper's "DPO only" ablation). Pairs are sampled from ``sample_from``
    (default: the SFT adapter), ``num_samples`` per instruction at ``temperature``.
    """

    run_dir: str = "runs/offline"
    output_dir: str | None = None  # default <run_dir>/train/dpo (or dpo_only for init=base)
    base_model: str | None = None  # default: the SFT run's base model
    sft_adapter: str | None = None  # default <run_dir>/train/sft/adapter
    init: str = "sft"
    pairs_path: str | None = None  # reuse pairs from an earlier sampling run
    sample_only: bool = False  # sample and write pairs, no training (run once before a multi-GPU launch)
    num_samples: int = 8
    temperature: float = 1.0
    top_p: float = 1.0
    max_new_tokens: int = 128
    sample_batch_size: int = 4
    max_length: int = 4096
    beta: float = 0.1
    loss_type: str = "sigmoid"
    learning_rate: float = 5e-6
    lr_scheduler_type: str = "cosine"
    warmup_ratio: float = 0.1
    num_train_epochs: float = 1.0
    max_steps: int = -1
    per_device_train_batch_size: int = 1
    gradient_accumulation_steps: int = 32
    gradient_checkpointing: bool = True
    quantization: str = "auto"
    logging_steps: int = 1
    seed: int = 0
    cpu_threads: int | None = None  # torch threads on CPU; 1 is fastest for tiny models on a busy machine
    save_steps: int = 0  # > 0: checkpoint every N steps under <output_dir>/checkpoints; a rerun resumes
    lora: LoraParams = field(default_factory=LoraParams)

    def resolved_output_dir(self) -> Path:
        if self.output_dir:
            return Path(self.output_dir)
        return Path(self.run_dir) / "train" / ("dpo" if self.init == "sft" else "dpo_only")

    def resolved_sft_adapter(self) -> Path:
        return Path(self.sft_adapter) if self.sft_adapter else Path(self.run_dir) / "train" / "sft" / "adapter"


T = TypeVar("T")


def from_mapping(cls: type[T], values: Mapping[str, Any]) -> T:
    """Build ``cls`` from a mapping; an unknown key is an error naming the key (typos must not pass)."""
    names = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    kwargs: dict[str, Any] = {}
    for k, v in values.items():
        if k not in names:
            raise ValueError(f"{cls.__name__}: unknown parameter {k!r}; known: {sorted(names)}")
        if k == "lora":
            v = v if isinstance(v, LoraParams) else from_mapping(LoraParams, v or {})
        kwargs[k] = v
    return cls(**kwargs)


def parse_overrides(overrides: Sequence[str]) -> dict[str, Any]:
    """``key=value`` pairs, values read as YAML (``limit=16``, ``settings=[preferred]``, ``lora.r=8``)."""
    out: dict[str, Any] = {}
    for item in overrides:
        if "=" not in item:
            raise ValueError(f"override {item!r} is not key=value")
        key, raw = item.split("=", 1)
        value = yaml.safe_load(raw) if raw != "" else None
        node = out
        parts = key.strip().split(".")
        for p in parts[:-1]:
            node = node.setdefault(p, {})
        node[parts[-1]] = value
    return out


def _merge(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in extra.items():
        if isinstance(v, Mapping) and isinstance(out.get(k), Mapping):
            out[k] = _merge(dict(out[k]), v)
        else:
            out[k] = v
    return out


PROFILE_SECTIONS = {"sft": ("08_sft_qlora", "sft"), "dpo": ("09_dpo", "dpo")}
PROFILE_COMMON = ("run_dir", "seed", "data")


def load_config(kind: str, path: str | Path | None = None, overrides: Sequence[str] = ()) -> SFTParams | DPOParams:
    """Read a ``sft``/``dpo`` config: a flat YAML of the dataclass fields, or a profile
    (``params/*.yaml``) whose ``params.08_sft_qlora.sft`` / ``params.09_dpo.dpo`` section is used
    together with the profile's ``run_dir``, ``seed`` and ``data``. Overrides win."""
    cls = SFTParams if kind == "sft" else DPOParams
    values: dict[str, Any] = {}
    if path is not None:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        if not isinstance(raw, dict):
            raise ValueError(f"{path}: expected a YAML mapping")
        if "params" in raw and "profile" in raw:
            nb, key = PROFILE_SECTIONS[kind]
            section = ((raw.get("params") or {}).get(nb) or {}).get(key)
            if section is None:
                raise ValueError(f"{path}: profile has no params.{nb}.{key} section")
            values = {k: raw[k] for k in PROFILE_COMMON if k in raw and raw[k] is not None}
            values = _merge(values, section)
        else:
            values = raw
    values = _merge(values, parse_overrides(overrides))
    return from_mapping(cls, values)


def to_dict(params: Any) -> dict[str, Any]:
    return dataclasses.asdict(params)


# The tiny-llama stand-in's settings (tests and the smoke profile): short prompts (one past interaction,
# the reference's group plus at most two candidates), 16 records, a high learning rate and many epochs,
# so that SFT overfits and DPO moves the margin within seconds on a CPU. Not the paper's settings.
TINY_SFT: dict[str, Any] = {
    "base_model": TINY,
    "limit": 24,
    "settings": ["preferred"],
    "max_history": 1,
    "max_candidates": 2,
    "max_records": 16,
    "max_length": 256,
    "learning_rate": 1e-2,
    "lr_scheduler_type": "constant",
    "warmup_ratio": 0.0,
    "num_train_epochs": 40,
    "per_device_train_batch_size": 8,
    "gradient_accumulation_steps": 1,
    "gradient_checkpointing": False,
    "quantization": "none",
    "logging_steps": 2,
    "cpu_threads": 1,
    "lora": {"r": 16, "alpha": 16, "dropout": 0.0},
}
TINY_DPO: dict[str, Any] = {
    "settings": ["preferred"],
    "num_samples": 4,
    "temperature": 1.0,
    "max_new_tokens": 48,
    "sample_batch_size": 16,
    "max_length": 256,
    "learning_rate": 1e-3,
    "lr_scheduler_type": "constant",
    "warmup_ratio": 0.0,
    "num_train_epochs": 10,
    "per_device_train_batch_size": 8,
    "gradient_accumulation_steps": 1,
    "gradient_checkpointing": False,
    "quantization": "none",
    "logging_steps": 1,
    "cpu_threads": 1,
    "lora": {"r": 16, "alpha": 16, "dropout": 0.0},
}


def notebook_params(kind: str, run_dir: str, seed: int, data: str | None, section: Mapping[str, Any] | None) -> SFTParams | DPOParams:
    """A notebook's parameters (the profile's common keys plus its ``sft``/``dpo`` mapping) as a config."""
    cls = SFTParams if kind == "sft" else DPOParams
    values: dict[str, Any] = {"run_dir": run_dir, "seed": seed, "data": data}
    return from_mapping(cls, _merge(values, dict(section or {})))
