"""PEToolLLaMA training: QLoRA SFT on the benchmark's calls, then DPO on the SFT model's own samples.

Modules: ``config`` (parameters, paper defaults), ``records`` (SFT records and DPO pairs from any
benchmark in the release layout), ``modeling`` (loading a base with or without 4-bit, adapters,
greedy/sampled generation), ``sft``, ``sampling`` (K samples and the pair rules), ``dpo``,
``ablation`` (greedy evaluation of the trained variants), ``report`` (figures, report fragments) and
``memory`` (what an 8B run needs).
Heavy imports (torch, transformers, trl) happen inside functions so that importing this package is cheap.
"""
