"""What a QLoRA run needs in GPU memory, computed from the architecture rather than guessed.

The terms follow what TRL 1.16 + PEFT 0.21 + bitsandbytes actually hold at the peak of one micro-batch
(derived in docs/training.md, checked against the GPU smoke's measurements):

* the base's linear weights in NF4 (4 bits + double-quantised block constants);
* the embeddings and the LM head in **fp32**: ``prepare_model_for_kbit_training`` upcasts every
  non-quantised parameter (embeddings, norms, ``lm_head``) to fp32;
* LoRA in fp32 (petool keeps trainable weights fp32, see ``modeling.upcast_trainable``): weight,
  gradient and two Adam moments, 16 bytes a parameter;
* checkpointed activations: each block's input, and with the fp32 embedding output the residual stream
  is fp32, so 4 bytes per value (twice the bf16 figure);
* one block recomputed in full during backward (fp32 residual/norm tensors, bf16 projections);
* the logits of the **completion positions only**: TRL 1.16 runs the LM head on the positions that
  carry loss (the call, tens of tokens), not the whole 4k sequence, so there is no full-logits term;
* the CUDA context and allocator slack.

DPO at batch 1 pushes chosen and rejected together (2 sequences, like SFT micro-batch 2); its
reference pass runs without gradients and adds only transient activations of one block.
Each term is returned separately so the estimate can be checked and argued with.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

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

    def with_layers(self, layers: int) -> "LlamaShape":
        return replace(self, layers=layers)

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


def recomputed_block_bytes_per_token(shape: LlamaShape, residual_bytes: int = 4, act_bytes: int = 2) -> int:
    """What one block holds for its backward pass, per token: the residual-stream tensors (block input,
    attention-norm output, mid-block residual, MLP-norm output) in fp32, and the projections in bf16
    (q, k, v, attention output, o_proj output, gate, up, act(gate), gate x up, down output); flash/SDPA
    attention keeps no seq x seq matrix."""
    h, i, kv = shape.hidden, shape.intermediate, shape.kv_dim
    return 4 * h * residual_bytes + (h + 2 * kv + h + h + 4 * i + h) * act_bytes


@dataclass(frozen=True)
class MemoryEstimate:
    base_weights_gib: float
    embeddings_fp32_gib: float
    lora_states_gib: float
    checkpointed_activations_gib: float
    recomputed_block_gib: float
    completion_logits_gib: float
    cuda_context_gib: float

    @property
    def total_gib(self) -> float:
        return sum(asdict(self).values())

    @property
    def allocated_gib(self) -> float:
        """What ``torch.cuda.max_memory_allocated`` can see (everything but the CUDA context)."""
        return self.total_gib - self.cuda_context_gib

    def as_rows(self) -> list[tuple[str, float]]:
        return [(k, round(v, 2)) for k, v in asdict(self).items()] + [("total", round(self.total_gib, 2))]


def estimate_qlora_memory(
    shape: LlamaShape = LlamaShape(),
    *,
    seq_len: int = 4096,
    micro_batch: int = 2,
    lora_r: int = 16,
    completion_tokens: int = 64,
    double_quant: bool = True,
    gradient_checkpointing: bool = True,
    cuda_context_gib: float = 1.0,
) -> MemoryEstimate:
    """Peak memory of one QLoRA micro-batch of ``micro_batch`` sequences of ``seq_len`` tokens (SFT at
    micro-batch 2, or DPO at batch 1: chosen + rejected), of which ``completion_tokens`` per sequence
    carry loss (a call is 30-100 tokens)."""
    tokens = seq_len * micro_batch
    base = shape.linear_params() * nf4_bits_per_param(double_quant) / 8
    emb = shape.embedding_params() * 4
    lora = lora_params(shape, lora_r) * 16
    block = tokens * recomputed_block_bytes_per_token(shape)
    if gradient_checkpointing:
        kept = shape.layers * tokens * shape.hidden * 4
        recompute = block
    else:
        kept = shape.layers * block
        recompute = 0
    # fp32 logits of the scored positions and their gradient (the LM head runs in fp32 after the upcast)
    logits = micro_batch * completion_tokens * shape.vocab * (4 + 4)
    return MemoryEstimate(
        base_weights_gib=base / GiB,
        embeddings_fp32_gib=emb / GiB,
        lora_states_gib=lora / GiB,
        checkpointed_activations_gib=kept / GiB,
        recomputed_block_gib=recompute / GiB,
        completion_logits_gib=logits / GiB,
        cuda_context_gib=cuda_context_gib,
    )


def layer_slope_gib(shape: LlamaShape = LlamaShape(), **kwargs) -> float:
    """GiB added per decoder layer (what the GPU smoke's 2- and 4-layer probes extrapolate with)."""
    one = estimate_qlora_memory(shape.with_layers(1), **kwargs).total_gib
    two = estimate_qlora_memory(shape.with_layers(2), **kwargs).total_gib
    return two - one


def kv_cache_gib(shape: LlamaShape = LlamaShape(), *, tokens: int = 4096 + 256, sequences: int = 8, bytes_per_value: int = 2) -> float:
    """KV cache of ``sequences`` sequences of ``tokens`` tokens (K and V, every layer, GQA heads, bf16).

    DPO sampling: the hf backend generates the K samples of ONE prompt together, so K = 8 samples of a
    4,096-token prompt with 256 new tokens hold 8 x 4,352 x 128 KiB = 4.25 GiB; eight such prompts at
    once (the old default batch) would hold 34 GiB.
    """
    per_token = 2 * shape.layers * shape.kv_dim * bytes_per_value
    return sequences * tokens * per_token / GiB
