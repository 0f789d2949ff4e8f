"""Training configuration: petool's own keys, and every other key a field of TRL's ``SFTConfig``/``DPOConfig``.

A stage's YAML section (``params.08_sft_qlora.sft`` / ``params.09_dpo.dpo`` of a profile, or a flat file
for ``petool train --config``) mixes two kinds of key:

* **petool's own** (:data:`SFT_KEYS`, :data:`DPO_KEYS`): the base model, quantization, LoRA (a mapping
  of ``peft.LoraConfig`` fields), the settings, the data and its limits, and for DPO the SFT adapter,
  the starting point and the sampling of pairs (:class:`SamplingParams`).
* **everything else** must be a field of ``trl.SFTConfig`` (SFT) or ``trl.DPOConfig`` (DPO), checked
  against ``dataclasses.fields``; an unknown key is an error naming it. These are passed through
  unchanged, so the names, meanings and defaults are TRL's own and nothing here re-declares them. The
  paper's hyperparameters live in ``params/paper.yaml``.

petool fills in only what depends on the machine or the run (``output_dir``, ``use_cpu``/``bf16`` by
device, ``seed`` from the profile, ``disable_tqdm``) and only when the section does not set it
(:func:`petool_utils.training.trainer.trl_args`).
"""

from __future__ import annotations

import dataclasses
import difflib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping, Sequence

import yaml

from petool_utils import SETTINGS
from petool_utils.models.loading import QUANTIZATIONS
from petool_utils.params import is_profile, profile_from_mapping, read_params_file
from petool_utils.paths import project_path
from petool_utils.training.modeling import quiet_known_noise

TINY = "tiny"
"""``base_model: tiny`` builds the tiny-llama stand-in (not PEToolLLaMA) from the training text."""

PAPER_BASE_MODEL = "models/Meta-Llama-3.1-8B-Instruct"
"""Where the paper profile expects the base weights (a local path; nothing is downloaded)."""

TRL_DEFAULT_SEED = 42  # TrainingArguments.seed's default, used when neither profile nor section sets one


@dataclass
class SamplingParams:
    """How DPO pairs are sampled from the SFT model: K calls per instruction at T > 0. The paper samples
    several calls per instruction but gives no K; K = 8 is petool's choice (as is the temperature).

    Requests go through the hf backend's ``chat_many`` (one request per sample, ``sample_index``
    0..K-1) behind the one response cache. ``sample_batch_size`` is the backend's: samples of ONE prompt
    generated together; the default K = 8 is one 4k-token prompt x 8 samples at a time, about 4.3 GiB of
    KV cache at 8B (``memory.kv_cache_gib``). ``max_context``: the prompt budget is the stage's
    (``max_length - answer_tokens``, the one length rule of :func:`prompt_budget`); a value here must
    equal it or leave it unset. ``other_tools``, ``build_rejected``: see ``sampling.choose_pair``.
    """

    num_samples: int = 8
    temperature: float = 1.0
    top_p: float = 1.0
    max_tokens: int = 256
    sample_batch_size: int = 8
    max_context: int | None = None
    other_tools: bool = False
    build_rejected: bool = True  # no rival sampled: build one from the group (the rule's fallback); false: no pair


@dataclass
class SFTParams:
    """petool's own keys of an SFT section; ``trl`` holds the SFTConfig fields given."""

    run_dir: str = "runs/offline"
    stage_dir: str | None = None  # default <run_dir>/train/sft
    base_model: str = PAPER_BASE_MODEL
    quantization: str = "auto"  # auto: 4-bit NF4 when CUDA is present; 4bit forces it (CPU too); none
    lora: dict[str, Any] = field(default_factory=dict)  # peft.LoraConfig fields
    settings: list[str] = field(default_factory=lambda: list(SETTINGS))
    train_data: str | None = None  # a benchmark (release layout) or the released user_entries_sft_* files
    data: str | None = None  # the released (test) data: used only with allow_test_data
    allow_test_data: bool = False  # the tiny demo only: train on the released test split, outputs labelled
    limit: int | None = None
    offset: int = 0
    max_records: int | None = None
    max_history: int | None = None
    max_candidates: int | None = None
    answer_tokens: int = 256  # kept free for the answer: prompts are fitted to max_length - answer_tokens
    layout: str = "system_user"  # system_user (default, the evaluation's) or user_only (the authors' training layout)
    cpu_threads: int | None = None  # torch threads on CPU; 1 is fastest for tiny models on a busy machine
    tiny_vocab_size: int = 2048
    trl: dict[str, Any] = field(default_factory=dict)

    kind = "sft"

    @property
    def seed(self) -> int:
        """TRL's ``seed`` (the profile's), which also seeds sampling, shortening and the tiny stand-in."""
        return int(self.trl.get("seed", TRL_DEFAULT_SEED))

    def resolved_stage_dir(self) -> Path:
        return Path(self.stage_dir) if self.stage_dir else Path(self.run_dir) / "train" / "sft"


@dataclass
class DPOParams(SFTParams):
    """petool's own keys of a DPO section; ``trl`` holds the DPOConfig fields given.

    ``init``: ``sft`` continues the SFT adapter (the paper's SFT+DPO; TRL's reference is a frozen copy
    of it), ``base`` trains a fresh LoRA on the base (the "DPO only" ablation; the reference is the base).
    ``pairs_path`` reuses pairs written earlier (the DPO-only row uses the SFT+DPO run's pairs).

    ``reference`` (with ``init: sft``): ``sft``, the paper's text (the reference is the SFT model: a
    frozen copy of the SFT adapter, TRL's behaviour with a PEFT model), or ``base``, the authors' code
    (LLaMA-Factory computes the reference log-probs under ``disable_adapter()``: the base model). With
    ``init: base`` the two are the same model.
    """

    base_model: str | None = None  # default: the SFT run's base model
    sft_adapter: str | None = None  # default <run_dir>/train/sft/adapter
    init: str = "sft"
    reference: str = "sft"  # sft: the paper's text (the SFT model); base: the authors' code (disable_adapter)
    pairs_path: str | None = None
    sample_only: bool = False  # sample and write pairs, no training (run once before a multi-GPU launch)
    # score every pair once more after training (reward margin and accuracy after): a forward pass of the
    # policy and the reference over all pairs, about a third of the training time on a CPU
    evaluate_after: bool = True
    sampling: SamplingParams = field(default_factory=SamplingParams)

    kind = "dpo"

    def resolved_stage_dir(self) -> Path:
        if self.stage_dir:
            return Path(self.stage_dir)
        return Path(self.run_dir) / "train" / ("dpo" if self.init == "sft" else "dpo_only")

    def resolved_sft_adapter(self) -> Path:
        return Path(self.sft_adapter) if self.sft_adapter else Path(self.run_dir) / "train" / "sft" / "adapter"


PARAMS = {"sft": SFTParams, "dpo": DPOParams}


def prompt_budget(max_length: int, params: SFTParams) -> int:
    """The one length rule: every prompt, in training, DPO sampling and evaluation, is fitted (oldest
    history first) into ``max_length - answer_tokens`` tokens as the hf backend counts them, and a
    training record's prompt plus its answer into ``max_length``. The same prompt is then trained on,
    sampled from and evaluated; the adapter's ``petool_training.json`` carries the budget to evaluation."""
    budget = int(max_length) - int(params.answer_tokens)
    if budget <= 0:
        raise ValueError(f"{params.kind} config: max_length {max_length} leaves no room for a prompt after "
                         f"answer_tokens {params.answer_tokens}")
    if isinstance(params, DPOParams) and params.sampling.max_context not in (None, budget):
        raise ValueError(f"dpo config: sampling.max_context {params.sampling.max_context} differs from the prompt "
                         f"budget max_length - answer_tokens = {budget}; one length rule for sampling, training and "
                         "evaluation: drop sampling.max_context or make them equal")
    return budget


def petool_keys(kind: str) -> frozenset[str]:
    return frozenset(f.name for f in dataclasses.fields(PARAMS[kind]) if f.name != "trl")


@lru_cache(maxsize=2)
def trl_fields(kind: str) -> frozenset[str]:
    """The field names of ``trl.SFTConfig`` / ``trl.DPOConfig`` (imported here, lazily: TRL is heavy)."""

    quiet_known_noise()
    from trl import DPOConfig, SFTConfig

    cls = SFTConfig if kind == "sft" else DPOConfig
    return frozenset(f.name for f in dataclasses.fields(cls) if f.init)


def _unknown(kind: str, key: str) -> ValueError:
    known = sorted(petool_keys(kind) | trl_fields(kind))
    near = difflib.get_close_matches(key, known, n=3)
    cls = "SFTConfig" if kind == "sft" else "DPOConfig"
    hint = f"; did you mean {', '.join(near)}?" if near else ""
    return ValueError(f"{kind} config: unknown key {key!r}: neither a petool key ({', '.join(sorted(petool_keys(kind)))}) "
                      f"nor a field of trl.{cls}{hint}")


def from_mapping(kind: str, values: Mapping[str, Any]) -> SFTParams | DPOParams:
    """Split a flat section into petool's keys and TRL fields; an unknown key is an error naming it.

    A ``trl`` mapping (what :func:`to_dict` writes into a manifest) is read back as TRL fields too.
    """
    cls = PARAMS[kind]
    own = petool_keys(kind)
    kwargs: dict[str, Any] = {}
    trl: dict[str, Any] = {}
    for k, v in values.items():
        if k == "trl":
            trl.update(v or {})
        elif k in own:
            kwargs[k] = v
        else:
            trl[k] = v
    for k in trl:
        if k not in trl_fields(kind):
            raise _unknown(kind, k)
    if "sampling" in kwargs and not isinstance(kwargs["sampling"], SamplingParams):
        s = dict(kwargs["sampling"] or {})
        names = {f.name for f in dataclasses.fields(SamplingParams)}
        bad = sorted(set(s) - names)
        if bad:
            raise ValueError(f"dpo config: unknown sampling key(s) {bad}; known: {sorted(names)}")
        kwargs["sampling"] = SamplingParams(**s)
    if "lora" in kwargs:
        kwargs["lora"] = dict(kwargs["lora"] or {})
        check_lora(kwargs["lora"])
    if "settings" in kwargs and isinstance(kwargs["settings"], str):
        kwargs["settings"] = [kwargs["settings"]]
    params = cls(**kwargs, trl=trl)
    if params.quantization not in QUANTIZATIONS:
        raise ValueError(f"{kind} config: quantization must be one of {QUANTIZATIONS}, not {params.quantization!r}")
    if params.layout not in ("system_user", "user_only"):
        raise ValueError(f"{kind} config: layout must be 'system_user' (system = the setting's prompt, user = the query; "
                         f"the default) or 'user_only' (the authors' LLaMA-Factory layout), not {params.layout!r}")
    bad = [s for s in params.settings if s not in SETTINGS]
    if bad:
        raise ValueError(f"{kind} config: unknown setting(s) {bad}; training settings are {list(SETTINGS)}")
    if isinstance(params, DPOParams) and params.init not in ("sft", "base"):
        raise ValueError(f"dpo config: init must be 'sft' or 'base', not {params.init!r}")
    if isinstance(params, DPOParams) and params.reference not in ("sft", "base"):
        raise ValueError(f"dpo config: reference must be 'sft' (the paper's text) or 'base' (the authors' code), "
                         f"not {params.reference!r}")
    return params


def check_lora(lora: Mapping[str, Any]) -> None:
    """LoRA keys are ``peft.LoraConfig`` fields (``r``, ``lora_alpha``, ``lora_dropout``, ``target_modules``...)."""

    quiet_known_noise()
    from peft import LoraConfig

    names = {f.name for f in dataclasses.fields(LoraConfig)}
    bad = sorted(set(lora) - names)
    if bad:
        near = {b: difflib.get_close_matches(b, sorted(names), n=2) for b in bad}
        raise ValueError(f"lora: unknown key(s) {bad} (not fields of peft.LoraConfig; close: {near})")


def to_dict(params: SFTParams | DPOParams) -> dict[str, Any]:
    """The section as a flat mapping (petool keys and TRL fields side by side): what a manifest records
    and what :func:`from_mapping` reads back."""
    d = dataclasses.asdict(params)
    trl = d.pop("trl")
    return {**d, **trl}


def given_section(params: SFTParams | DPOParams) -> dict[str, Any]:
    """The section as given: petool's keys whose value differs from its default (``sampling`` key by key)
    and the TRL fields set. What a run's checkpoint hash covers, so that a key added to petool later
    with a default does not orphan the checkpoints of a run that never set it."""
    defaults = to_dict(type(params)())
    out: dict[str, Any] = {}
    for k, v in to_dict(params).items():
        d = defaults.get(k, object())
        if isinstance(v, dict) and isinstance(d, dict) and k == "sampling":
            sub = {sk: sv for sk, sv in v.items() if d.get(sk, object()) != sv}
            if sub:
                out[k] = sub
        elif k in params.trl or v != d:
            out[k] = v
    return out


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


def _common(run_dir: Any, seed: Any, data: Any) -> dict[str, Any]:
    """The profile's common keys: ``seed`` is TRL's own field (and seeds sampling), the rest petool's."""
    out: dict[str, Any] = {}
    if run_dir is not None:
        out["run_dir"] = str(run_dir)
    if seed is not None:
        out["seed"] = seed
    if data is not None:
        out["data"] = str(data)
    return out


def load_config(kind: str, path: str | Path | None = None, overrides: Sequence[str] = ()) -> SFTParams | DPOParams:
    """Read a ``sft``/``dpo`` config: a flat YAML section, or a profile (``params/*.yaml``) whose
    ``params.08_sft_qlora.sft`` / ``params.09_dpo.dpo`` section is used with the profile's ``run_dir``,
    ``seed`` and ``data``. Overrides win.

    Both go through the one reader (:func:`petool_utils.params.read_params_file`: a credential-looking
    key is refused) and a profile through its validation (:func:`~petool_utils.params.profile_from_mapping`:
    ``run_dir`` and ``data`` resolved against the project root); a flat section's relative ``run_dir`` is
    taken from the project root too.
    """
    values: dict[str, Any] = {}
    if path is not None:
        raw = read_params_file(path)
        if is_profile(raw):
            prof = profile_from_mapping(raw, Path(path))
            nb, key = PROFILE_SECTIONS[kind]
            section = (prof.params.get(nb) or {}).get(key)
            if section is None:
                raise ValueError(f"{path}: profile has no params.{nb}.{key} section")
            values = _merge(_common(prof.run_dir, prof.seed, prof.data), section)
        else:
            values = dict(raw)
            if values.get("run_dir") is not None:
                values["run_dir"] = str(project_path(values["run_dir"]))
    values = _merge(values, parse_overrides(overrides))
    return from_mapping(kind, values)


def notebook_params(kind: str, run_dir: str | Path, seed: int, data: str | Path | None,
                    section: Mapping[str, Any] | None) -> SFTParams | DPOParams:
    """A notebook's parameters (the profile's common keys plus its ``sft``/``dpo`` mapping) as a config;
    notebooks pass what :func:`petool_utils.params.setup` resolved against the project root."""
    return from_mapping(kind, _merge(_common(run_dir, seed, data), dict(section or {})))


# The tiny-llama stand-in's settings (tests and the smoke profile): short prompts (one past interaction,
# the reference's group plus at most two candidates), 16 records, a high learning rate and many epochs,
# so that SFT overfits and DPO moves the margin within seconds on a CPU. Not the paper's settings. The
# keys that are not petool's are TRL's own SFTConfig/DPOConfig fields.
TINY_LORA: dict[str, Any] = {"r": 16, "lora_alpha": 16, "lora_dropout": 0.0, "target_modules": "all-linear"}
TINY_TRL_COMMON: dict[str, Any] = {
    "max_length": 256,
    "lr_scheduler_type": "constant",
    "warmup_steps": 0,
    "per_device_train_batch_size": 8,
    "gradient_accumulation_steps": 1,
    "gradient_checkpointing": False,
    "save_strategy": "no",
}
TINY_SFT: dict[str, Any] = {
    "base_model": TINY,
    "allow_test_data": True,  # the tiny demo may train on the released test split (outputs labelled)
    "limit": 24,
    "settings": ["preferred"],
    "max_history": 1,
    "max_candidates": 2,
    "max_records": 16,
    "answer_tokens": 48,  # prompts fitted to 256 - 48 tokens: room for the 48 sampled tokens of TINY_DPO
    "quantization": "none",
    "cpu_threads": 1,
    "lora": TINY_LORA,
    **TINY_TRL_COMMON,
    "learning_rate": 1e-2,
    "num_train_epochs": 40,
    "logging_steps": 2,
}
TINY_DPO: dict[str, Any] = {
    "allow_test_data": True,
    "settings": ["preferred"],
    "answer_tokens": 48,
    "quantization": "none",
    "cpu_threads": 1,
    "lora": TINY_LORA,
    "sampling": {"num_samples": 4, "temperature": 1.0, "max_tokens": 48, "sample_batch_size": 4},
    **TINY_TRL_COMMON,
    "learning_rate": 1e-3,
    "num_train_epochs": 10,
    "logging_steps": 1,
}
