"""A tiny Llama built from a config, with a byte-level BPE tokenizer trained on benchmark text.

It exists so that the training code runs for real on a 2-core CPU in CI: SFT must be able to overfit
and DPO must be able to move the reward margin, which a random 8B stand-in could not do in seconds.
It is a *stand-in, not PEToolLLaMA*: :data:`TINY_LABEL` goes into every artifact it produces.

Training the tokenizer on the same text the model will see (queries, tool names, calls) keeps the
sequences short, which is what makes a few hundred thousand parameters enough to memorise calls.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterable

TINY_LABEL = "tiny-llama stand-in, not PEToolLLaMA"
STANDIN_NAME = "tiny-llama-standin"
"""The short name used in model slugs, predictor names and run manifests."""

# Role markers are single special tokens, so the tokenised generation prompt is always a prefix of the
# tokenised prompt+completion (TRL's prompt/completion masking relies on that) and generation stops
# at END, which is also the EOS token.
SPECIAL_TOKENS = ["<|pad|>", "<|bos|>", "<|end|>", "<|system|>", "<|user|>", "<|assistant|>"]
CHAT_TEMPLATE = (
    "{{ bos_token }}"
    "{% for message in messages %}"
    "{{ '<|' + message['role'] + '|>' + message['content'] + '<|end|>' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|assistant|>' }}{% endif %}"
)


def train_tokenizer(texts: Iterable[str], vocab_size: int = 2048):
    """A byte-level BPE trained on ``texts``, wrapped for ``transformers`` with the chat template."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    # use_regex=False lets merges cross word boundaries: the prompt boilerplate that every record
    # repeats collapses into a few tokens, so a record is tens of tokens instead of hundreds.
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
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
        bos_token="<|bos|>",
        eos_token="<|end|>",
        pad_token="<|pad|>",
        additional_special_tokens=["<|system|>", "<|user|>", "<|assistant|>"],
    )
    fast.chat_template = CHAT_TEMPLATE
    fast.padding_side = "left"  # decoder-only generation pads on the left
    return fast


def build_tiny_llama(
    out_dir: str | Path,
    texts: Iterable[str],
    vocab_size: int = 2048,
    seed: int = 0,
    *,
    hidden_size: int = 128,
    num_layers: int = 2,
    num_heads: int = 4,
    max_positions: int = 2048,
    embed_std: float = 0.1,
) -> Path:
    """Write a randomly initialised ``LlamaForCausalLM`` and its tokenizer to ``out_dir``; return it.

    Deterministic for a given ``texts`` and ``seed``. Embeddings are tied to keep the parameter count
    in the low hundreds of thousands.
    """
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tok = train_tokenizer(texts, vocab_size=vocab_size)
    config = LlamaConfig(
        vocab_size=len(tok),
        hidden_size=hidden_size,
        intermediate_size=hidden_size * 2,
        num_hidden_layers=num_layers,
        num_attention_heads=num_heads,
        num_key_value_heads=max(1, num_heads // 2),
        max_position_embeddings=max_positions,
        tie_word_embeddings=True,
        bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
        pad_token_id=tok.pad_token_id,
    )
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config)
    with torch.no_grad():
        # With tied embeddings at the default 0.02 scale the largest possible logit is about 2, so
        # the model cannot express a confident prediction and LoRA (which leaves embeddings frozen)
        # cannot fix that: the loss would stall near log(vocab). A larger embedding scale gives room.
        model.model.embed_tokens.weight.normal_(0.0, embed_std)
    model.generation_config.pad_token_id = tok.pad_token_id
    model.generation_config.eos_token_id = tok.eos_token_id
    model.save_pretrained(out)
    tok.save_pretrained(out)
    n_params = sum(p.numel() for p in model.parameters())
    (out / "STANDIN.md").write_text(
        f"# {STANDIN_NAME}\n\n{TINY_LABEL}: a randomly initialised LlamaForCausalLM ({n_params:,} parameters, "
        f"seed {seed}) with a byte-level BPE tokenizer trained on benchmark text, built by "
        "petool_utils.models.tiny for tests and offline runs.\n",
        encoding="utf-8",
    )
    (out / "petool_model.json").write_text(
        json.dumps({"label": TINY_LABEL, "parameters": n_params, "vocab_size": len(tok), "seed": seed}, indent=2) + "\n",
        encoding="utf-8",
    )
    return out


def is_standin(model_dir: str | Path) -> bool:
    """True for a directory written by :func:`build_tiny_llama`, so names and reports can say so."""
    return (Path(model_dir) / "petool_model.json").exists()
