"""A tiny Llama with a locally trained tokenizer: the "tiny-llama stand-in" for tests and offline runs.

Why: the HF predictor, SFT and DPO code paths need a real ``LlamaForCausalLM`` with a real chat
template, but CI has no hub access and no GPU. A byte-level BPE trained on benchmark text and a
randomly initialised model of a few hundred thousand parameters exercise the same code in seconds.
Its outputs are noise: every directory it writes carries ``STANDIN.md`` and the name
``tiny-llama-standin`` so it is never reported as a model.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Iterable

STANDIN_NAME = "tiny-llama-standin"
SPECIAL_TOKENS = ["<pad>", "<s>", "</s>", "<|system|>", "<|user|>", "<|assistant|>"]
# A minimal Llama-3-like layout: role marker, content, end of turn.
CHAT_TEMPLATE = (
    "{{ bos_token }}"
    "{% for message in messages %}"
    "{{ '<|' + message['role'] + '|>' }}\n{{ message['content'] }}{{ eos_token }}\n"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|assistant|>' }}\n{% endif %}"
)


def train_tokenizer(texts: Iterable[str], vocab_size: int = 2000):
    """Byte-level BPE on ``texts`` wrapped as a ``PreTrainedTokenizerFast`` (pad/bos/eos, chat template)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token=None))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(list(texts), trainer=trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token="<s>",
        eos_token="</s>",
        pad_token="<pad>",
        additional_special_tokens=SPECIAL_TOKENS[3:],
        padding_side="left",
        model_max_length=1_000_000,
    )
    fast.chat_template = CHAT_TEMPLATE
    return fast


def build_tiny_llama(
    out_dir: str | os.PathLike[str],
    texts: Iterable[str],
    vocab_size: int = 2000,
    seed: int = 0,
    hidden_size: int = 64,
    num_layers: int = 2,
    num_heads: int = 4,
    intermediate_size: int = 128,
    max_position_embeddings: int = 8192,
) -> Path:
    """Train a tokenizer on ``texts``, initialise a ``LlamaForCausalLM`` with ``seed``, save both.

    Defaults give about 330k parameters. Returns ``out_dir`` (loadable with ``from_pretrained``).
    """
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tokenizer = train_tokenizer(texts, vocab_size=vocab_size)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        intermediate_size=intermediate_size,
        num_hidden_layers=num_layers,
        num_attention_heads=num_heads,
        num_key_value_heads=num_heads,
        max_position_embeddings=max_position_embeddings,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=False,
    )
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config)
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    n_params = sum(p.numel() for p in model.parameters())
    (out / "STANDIN.md").write_text(
        f"# {STANDIN_NAME}\n\nA randomly initialised LlamaForCausalLM ({n_params:,} parameters, seed {seed}) with a "
        "byte-level BPE tokenizer trained on benchmark text. Built by petool_utils.tiny_model for tests and "
        "offline runs; its outputs are not a model's results.\n",
        encoding="utf-8",
    )
    (out / "petool_standin.json").write_text(
        json.dumps({"name": STANDIN_NAME, "parameters": n_params, "seed": seed, "vocab_size": len(tokenizer)}) + "\n",
        encoding="utf-8",
    )
    return out


def is_standin(model_dir: str | os.PathLike[str]) -> bool:
    """True for a directory written by :func:`build_tiny_llama` (so names and reports can say so)."""
    return (Path(model_dir) / "petool_standin.json").exists()
