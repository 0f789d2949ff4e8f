"""What a QLoRA run needs in GPU memory, computed from the architecture rather than guessed.

No GPU was available while this kit was built, so the 8B figure in docs/training.md comes from here:
quantised base weights + unquantised embeddings/head + LoRA weights, gradients and Adam states +
checkpointed activations + one layer's recomputed activations + the logits of the loss (which, at a
128k vocabulary, are the largest single item) + CUDA context. Each term is returned separately so the
estimate can be checked and argued with.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

GiB = 1024**3


@dataclass(frozen=True)
class LlamaShape:
    """Llama-3.1-8B-Instruct by default (config.json of the release)."""

    hidden: int = 4096
    intermediate: int = 14336
    layers: int = 32
    heads: int = 32
    kv_heads: int = 8
    vocab: int = 128256
    tied_embeddings: bool = False

    @property
    def kv_dim(self) -> int:
        return self.hidden // self.heads * self.kv_heads

    def linear_shapes(self) -> list[tuple[int, int]]:
        """(in, out) of the seven linear layers of one decoder block."""
        h, i, kv = self.hidden, self.intermediate, self.kv_dim
        return [(h, h), (h, kv), (h, kv), (h, h), (h, i), (h, i), (i, h)]

    def linear_params(self) -> int:
        return self.layers * sum(a * b for a, b in self.linear_shapes())

    def embedding_params(self) -> int:
        return self.vocab * self.hidden * (1 if self.tied_embeddings else 2)

    def total_params(self) -> int:
        norms = self.layers * 2 * self.hidden + self.hidden
        return self.linear_params() + self.embedding_params() + norms


def lora_params(shape: LlamaShape, r: int) -> int:
    """LoRA on every linear layer of every block: r * (in + out) each."""
    return shape.layers * sum(r * (a + b) for a, b in shape.linear_shapes())


def nf4_bits_per_param(double_quant: bool = True, blocksize: int = 64) -> float:
    """4 bits + the block's absmax constant: fp32 per 64 weights (0.5 bit), or with double
    quantisation an 8-bit constant per 64 plus an fp32 per 256 of those (8/64 + 32/(64*256) bits)."""
    return 4 + ((8 / blocksize + 32 / (blocksize * 256)) if double_quant else 32 / blocksize)


@dataclass(frozen=True)
class MemoryEstimate:
    base_weights_gib: float
    embeddings_gib: float
    lora_states_gib: float
    checkpointed_activations_gib: float
    recomputed_layer_gib: float
    logits_gib: float
    cuda_context_gib: float

    @property
    def total_gib(self) -> float:
        return sum(asdict(self).values())

    def as_rows(self) -> list[tuple[str, float]]:
        return [(k, round(v, 2)) for k, v in asdict(self).items()] + [("total", round(self.total_gib, 2))]


def estimate_qlora_memory(
    shape: LlamaShape = LlamaShape(),
    *,
    seq_len: int = 4096,
    micro_batch: int = 2,
    lora_r: int = 16,
    double_quant: bool = True,
    gradient_checkpointing: bool = True,
    act_bytes: int = 2,
    cuda_context_gib: float = 1.0,
) -> MemoryEstimate:
    """Peak training memory of one QLoRA SFT micro-batch (DPO at batch 1 has the same token count:
    chosen + rejected, plus a no-grad reference pass that adds little).

    * base: the blocks' linear weights in NF4; embeddings and ``lm_head`` stay bf16 (bitsandbytes
      does not quantise them).
    * LoRA: fp32 weights, gradients and two Adam moments, 16 bytes per parameter.
    * activations: with checkpointing, each block keeps its bf16 input (tokens x hidden); during
      backward one block is recomputed in full: norms, q/k/v/o, residual, gate/up/act/product
      (flash/SDPA attention, so no seq x seq matrix).
    * logits: bf16 logits, their fp32 copy for the loss and the fp32 gradient (tokens x vocab each).
    """
    tokens = seq_len * micro_batch
    h, i, kv = shape.hidden, shape.intermediate, shape.kv_dim
    base = shape.linear_params() * nf4_bits_per_param(double_quant) / 8
    emb = shape.embedding_params() * 2
    lora = lora_params(shape, lora_r) * 16
    block_full = tokens * (6 * h + 2 * kv + 4 * i) * act_bytes
    if gradient_checkpointing:
        kept = shape.layers * tokens * h * act_bytes
        recompute = block_full
    else:
        kept = shape.layers * block_full
        recompute = 0
    logits = tokens * shape.vocab * (act_bytes + 4 + 4)
    return MemoryEstimate(
        base_weights_gib=base / GiB,
        embeddings_gib=emb / GiB,
        lora_states_gib=lora / GiB,
        checkpointed_activations_gib=kept / GiB,
        recomputed_layer_gib=recompute / GiB,
        logits_gib=logits / GiB,
        cuda_context_gib=cuda_context_gib,
    )
