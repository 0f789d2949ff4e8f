"""PEToolLLaMA training: QLoRA SFT on the benchmark's calls, then DPO on the SFT model's own samples.

Modules: ``config`` (petool's keys; every other key a TRL SFTConfig/DPOConfig field), ``data`` (the
training data, and the refusal to train on the test split), ``records`` (the one SFT record builder,
DPO records, fitting long records by the evaluation's history rule), ``modeling`` (4-bit loading, LoRA,
LoRA weights kept fp32), ``trainer`` (what SFT and DPO share), ``sft``, ``sampling`` (the paper's pair
rule; K samples through the hf backend's ``chat_many``), ``dpo``, ``ablation`` (notebook 09's table
through the evaluation engine), ``report`` (figures, report fragments, doc blocks) and ``memory`` (what
an 8B run needs). Heavy imports (torch, transformers, trl) happen inside functions so that importing
this package is cheap.
"""
