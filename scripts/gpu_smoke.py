#!/usr/bin/env python3
"""GPU smoke of petool's QLoRA path (issue 11 item 4, issue 14): run by scripts/gpu_smoke.sh.

(i)  ``petool train sft`` and ``petool train dpo`` themselves (the CLI, in subprocesses) on the tiny-llama
     stand-in (not PEToolLLaMA) in 4-bit NF4 with bf16 compute, a few steps each, on a synthetic train
     split (the GPU machine has no data and no hub). Checks: every trainable tensor fp32 when training
     starts, LoRA B non-zero after SFT, >= 90% of LoRA entries changed by DPO at lr 5e-6, DPO margin 0
     at the first step. Peak GPU memory and time of each.
(ii) A memory probe of LLaMA-3.1-8B's shape at 4,096 tokens, micro-batch 2, gradient checkpointing:
     Llamas of the 8B width (hidden 4096, MLP 14336, 32/8 heads, vocabulary 128,256) with random
     weights and 2 and 4 layers, saved locally, loaded in 4-bit through petool's own loader, one SFT
     step (2 x 4,096 tokens, 64 of them the completion) and one DPO step (chosen + rejected, 4,096 each,
     from the SFT step's adapter); peak ``torch.cuda.max_memory_allocated``/``reserved``, extrapolated
     linearly in the layer count to 32 layers and set beside ``petool_utils.training.memory``.

Every part runs in its own try/except (a failure is recorded and the next part runs), with timestamps;
``--budget-s`` skips what would not finish in time. The numbers go to ``$OUT/summary.json`` (and the
console log to ``$OUT/log.txt`` via the shell script); the last line printed is one JSON summary.
``--cpu-dry-run`` runs the same code paths at tiny sizes on CPU (4-bit through bitsandbytes' CPU
backend; no GPU figures).

    bash scripts/gpu_smoke.sh                 # on the GPU machine
    bash scripts/gpu_smoke.sh --cpu-dry-run   # here
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import shutil
import subprocess
import sys
import time
import traceback
from pathlib import Path
from typing import Any, Callable

T0 = time.time()
REPO = Path(__file__).resolve().parent.parent
GiB = 1024**3


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')} +{time.time() - T0:6.1f}s] {msg}", flush=True)


class Summary:
    """The run's numbers, written to ``OUT/summary.json`` after every part (a killed run keeps what it had)."""

    def __init__(self, out: Path, mode: str):
        self.path = out / "summary.json"
        self.data: dict[str, Any] = {"mode": mode, "started": time.strftime("%Y-%m-%dT%H:%M:%S"), "parts": {}}

    def save(self) -> None:
        self.data["elapsed_s"] = round(time.time() - T0, 1)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.data, indent=2, default=str), encoding="utf-8")
        os.replace(tmp, self.path)

    def part(self, name: str, fn: Callable[[], dict[str, Any]], deadline: float, need_s: float) -> dict[str, Any]:
        left = deadline - time.time()
        if left < need_s:
            self.data["parts"][name] = {"ok": False, "skipped": f"{left:.0f} s left of the budget, needs about {need_s:.0f} s"}
            log(f"== {name}: SKIPPED ({left:.0f} s left)")
            self.save()
            return self.data["parts"][name]
        log(f"== {name}")
        t = time.time()
        try:
            res = {"ok": True, **fn()}
        except BaseException as exc:  # noqa: BLE001 - every failure is recorded, the next part still runs
            if isinstance(exc, KeyboardInterrupt):
                raise
            res = {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:2000], "traceback": traceback.format_exc()[-4000:]}
            log(f"   FAILED: {res['error'][:500]}")
        res["seconds"] = round(time.time() - t, 1)
        self.data["parts"][name] = res
        self.save()
        log(f"   {name}: {'ok' if res['ok'] else 'failed'} in {res['seconds']} s")
        free_cuda()
        return res


def free_cuda() -> None:
    gc.collect()
    try:
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()
    except Exception:  # noqa: BLE001
        pass


def environment() -> dict[str, Any]:
    import importlib.metadata as md

    import torch

    info: dict[str, Any] = {"python": sys.version.split()[0], "torch": torch.__version__,
                            "cuda_available": torch.cuda.is_available()}
    for pkg in ("transformers", "trl", "peft", "bitsandbytes", "accelerate", "datasets", "tokenizers", "pydantic"):
        try:
            info[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            info[pkg] = None
    if torch.cuda.is_available():
        p = torch.cuda.get_device_properties(0)
        info.update(gpu=p.name, gpu_count=torch.cuda.device_count(), gpu_memory_gib=round(p.total_memory / GiB, 1),
                    bf16=torch.cuda.is_bf16_supported(), cuda=torch.version.cuda)
    import bitsandbytes  # noqa: F401 - fails here, not in the middle of a part, when the wheel is missing
    import trl  # noqa: F401
    return info


# -- (i) petool train sft / dpo on the tiny stand-in ---------------------------------------------------

def synthetic_train_split(n: int, seed: int) -> list[dict[str, Any]]:
    """A small train split in the release layout (6 functionality groups of 3 APIs, 5 candidates, 3 past
    interactions), rendered by petool's own prompt renderer. For the smoke only: no data travels."""
    from petool_utils.benchmark.data import parse_entry
    from petool_utils.benchmark.prompts import candidates_json, render_prompt
    from petool_utils.benchmark.data import CandidateTool, HistoryItem, ToolCall

    rng = random.Random(seed)
    verbs = ["search", "lookup", "find", "list", "get", "fetch"]
    nouns = ["weather", "flights", "recipes", "news", "stocks", "movies"]
    groups = []
    for g, (verb, noun) in enumerate(zip(verbs, nouns)):
        groups.append([(f"Cat{g}", f"{noun.title()} Tool {j}", f"{verb}_{noun}") for j in range(3)])
    full = lambda c, t, a: f"<{c}>.<{t}>.<{a}>"  # noqa: E731
    rows = []
    for i in range(n):
        gi = i % len(groups)
        group = groups[gi]
        ref = group[(i // len(groups)) % 3]
        others = [a for k, g in enumerate(groups) if k != gi for a in g]
        cand_apis = group + rng.sample(others, 2)
        rng.shuffle(cand_apis)
        cands = [CandidateTool(tool_name=full(*a), tool_description=f"{a[2].replace('_', ' ')} with {a[1]}",
                               required_parameters=[{"name": "query", "type": "STRING", "description": "what to look for"}])
                 for a in cand_apis]
        word = rng.choice(["paris", "tokyo", "pasta", "tesla", "jazz", "rain", "berlin", "soup"])
        hist = [HistoryItem(instruction=f"please {ref[2].split('_')[0]} {rng.choice(nouns)} for {rng.choice(['me', 'us', 'today'])}",
                            tool_call=ToolCall(tool_name=full(*ref), parameters={"query": rng.choice(["a", "b", "c"])}),
                            rating=1) for _ in range(3)]
        raw = {"entry_id": i, "query": f"{ref[2].replace('_', ' ')} for {word}", "apis_candidate": candidates_json(cands),
               "api_call_ground_truth": {"tool_name": full(*ref), "parameters": {"query": word}}, "func": f"g{gi}",
               "apis_same_func": [{"api_name": a[2], "tool_name": a[1], "category_name": a[0], "api_desc": a[2],
                                   "required_parameters": [{"name": "query", "type": "STRING"}]} for a in group]}
        for s in ("preferred", "ratings", "chronological"):
            raw[f"instruction_{s}"] = render_prompt(s, hist, cands)
        rows.append(parse_entry(raw).release_record())
    return rows


def run_cli(args: list[str], timeout: float, env: dict[str, str]) -> tuple[int, str]:
    """``python -m petool_utils.cli ...``, its output streamed to ours (indented) and returned."""
    cmd = [sys.executable, "-u", "-m", "petool_utils.cli", *args]
    log("   $ " + " ".join(cmd[2:]))
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            print("   | " + line.rstrip()[:400], flush=True)
            if time.time() - T0 > timeout:
                proc.kill()
                lines.append(f"killed after the smoke's deadline ({timeout:.0f} s since start)\n")
                break
        rc = proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    return rc, "".join(lines)


def lora_fraction(a: dict, b: dict | None, part: str) -> float:
    """Share of LoRA ``part`` entries that differ between two adapters (non-zero, when ``b`` is None)."""
    keys = [k for k in a if part in k]
    total = sum(a[k].numel() for k in keys)
    if b is None:
        return sum(int((a[k] != 0).sum()) for k in keys) / max(total, 1)
    return sum(int((a[k] != b[k]).sum()) for k in keys) / max(total, 1)


def petool_train_part(work: Path, dry: bool, deadline: float) -> dict[str, Any]:
    import yaml
    from safetensors.torch import load_file

    from petool_utils.io import atomic_write_json

    run_dir = work / "run"
    shutil.rmtree(run_dir, ignore_errors=True)
    atomic_write_json(run_dir / "benchmark" / "train.json", synthetic_train_split(24 if dry else 48, 0))
    lora = {"r": 16, "lora_alpha": 32, "lora_dropout": 0.05, "target_modules": "all-linear"}
    common = {"run_dir": str(run_dir), "quantization": "4bit", "settings": ["preferred"], "lora": lora, "seed": 0,
              "max_length": 512, "gradient_checkpointing": True, "logging_steps": 1, "save_strategy": "no",
              "lr_scheduler_type": "constant", "warmup_steps": 0, "per_device_train_batch_size": 4,
              "gradient_accumulation_steps": 1, "answer_tokens": 32}  # prompts fitted to 512 - 32 (the one rule)
    sft_cfg = {**common, "base_model": "tiny", "learning_rate": 1e-3, "max_steps": 4 if dry else 8}
    # disable_dropout: the check below wants the step-1 margin exactly 0, which LoRA dropout (kept by
    # petool's default, docs/training.md) would blur
    dpo_cfg = {**common, "learning_rate": 5e-6, "max_steps": 3 if dry else 6, "beta": 0.1, "loss_type": ["sigmoid"],
               "disable_dropout": True,
               "sampling": {"num_samples": 4, "temperature": 1.0, "max_tokens": 32, "sample_batch_size": 4}}
    (work / "sft.yaml").write_text(yaml.safe_dump(sft_cfg), encoding="utf-8")
    (work / "dpo.yaml").write_text(yaml.safe_dump(dpo_cfg), encoding="utf-8")
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    out: dict[str, Any] = {"records": "synthetic train split (tiny-llama stand-in, not PEToolLLaMA)"}
    for stage in ("sft", "dpo"):
        t = time.time()
        rc, text = run_cli(["train", stage, "--config", str(work / f"{stage}.yaml"), "--quiet"], deadline, env)
        sub = run_dir / "train" / stage
        manifest = json.loads((sub / "manifest.json").read_text()) if (sub / "manifest.json").exists() else {}
        keep = ("model", "records", "loss_first", "loss_last", "steps", "quantized_4bit", "device", "trainable_dtypes_at_start",
                "trainable_upcast_to_fp32", "trainable_changed_share", "cuda_peak_allocated_gib", "cuda_peak_reserved_gib", "train_seconds",
                "reward_margin_first_step", "reward_margin_after", "pair_sources", "records_shortened")
        out[stage] = {"rc": rc, "wall_s": round(time.time() - t, 1), **{k: manifest.get(k) for k in keep if k in manifest}}
        if rc != 0:
            out[stage]["output_tail"] = text[-3000:]
            raise RuntimeError(f"petool train {stage} exited {rc}: {text[-800:]}")
    sft_w = load_file(run_dir / "train" / "sft" / "adapter" / "adapter_model.safetensors")
    dpo_w = load_file(run_dir / "train" / "dpo" / "adapter" / "adapter_model.safetensors")
    out["lora_dtypes"] = sorted({str(v.dtype) for v in list(sft_w.values()) + list(dpo_w.values())})
    out["sft_lora_B_nonzero"] = round(lora_fraction(sft_w, None, "lora_B"), 4)
    out["dpo_changed_lora_A"] = round(lora_fraction(dpo_w, sft_w, "lora_A"), 4)
    out["dpo_changed_lora_B"] = round(lora_fraction(dpo_w, sft_w, "lora_B"), 4)
    n = out["sft"].get("trainable_dtypes_at_start") or {}
    out["checks"] = {
        "sft_trainable_fp32_at_start": set(n) == {"float32"},
        "dpo_trainable_fp32_at_start": set(out["dpo"].get("trainable_dtypes_at_start") or {}) == {"float32"},
        "lora_saved_fp32": out["lora_dtypes"] == ["torch.float32"],
        "sft_lora_B_moved": out["sft_lora_B_nonzero"] > 0.9,
        "dpo_lora_changed_90pct_at_5e-6": min(out["dpo_changed_lora_A"], out["dpo_changed_lora_B"],
                                              *((out["dpo"].get("trainable_changed_share") or {"x": 0.0}).values())) >= 0.9,
        "dpo_margin_0_at_step_1": abs(out["dpo"].get("reward_margin_first_step") or 0.0) < 1e-6,
    }
    return out


# -- (ii) the 8B-shape memory probe ----------------------------------------------------------------------

SPECIALS = ["<|pad|>", "<|bos|>", "<|end|>", "<|system|>", "<|user|>", "<|assistant|>", "<|unk|>"]


def word_tokenizer(folder: Path, n_words: int = 1000):
    """One token per ``w<k>`` word, the tiny stand-in's chat template: exact control of sequence lengths."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    from petool_utils.models.tiny import CHAT_TEMPLATE

    vocab = {t: i for i, t in enumerate(SPECIALS)}
    for w in range(n_words):
        vocab[f"w{w}"] = len(vocab)
    tk = Tokenizer(models.WordLevel(vocab, unk_token="<|unk|>"))
    tk.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tok = PreTrainedTokenizerFast(tokenizer_object=tk, bos_token="<|bos|>", eos_token="<|end|>", pad_token="<|pad|>",
                                  unk_token="<|unk|>", additional_special_tokens=["<|system|>", "<|user|>", "<|assistant|>"])
    tok.chat_template = CHAT_TEMPLATE
    tok.save_pretrained(str(folder))
    return tok


def sized_conversation(tok, total: int, completion: int, rng: random.Random, n_words: int = 1000):
    """(prompt messages, answer A, answer B) with prompt + either answer exactly ``total`` tokens."""
    words = lambda k: " ".join(f"w{rng.randrange(n_words)}" for _ in range(k))  # noqa: E731
    a, b, user = words(completion), words(completion), words(8)

    def msgs(k: int, ans: str) -> list[dict[str, str]]:
        return [{"role": "system", "content": words(k)}, {"role": "user", "content": user}, {"role": "assistant", "content": ans}]

    count = lambda m: len(tok.apply_chat_template(m, tokenize=True, return_dict=False))  # noqa: E731
    k = total - count(msgs(1, a)) + 1
    prompt = msgs(k, a)[:2]
    assert count(prompt + [{"role": "assistant", "content": a}]) == total, "word tokenizer: length off"
    assert count(prompt + [{"role": "assistant", "content": b}]) == total
    return prompt, [{"role": "assistant", "content": a}], [{"role": "assistant", "content": b}]


def build_probe_model(folder: Path, dims: dict[str, int], layers: int, device: str) -> float:
    """A Llama of the given width with random weights, saved in bf16; returns the seconds it took."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    t = time.time()
    cfg = LlamaConfig(vocab_size=dims["vocab"], hidden_size=dims["hidden"], intermediate_size=dims["intermediate"],
                      num_hidden_layers=layers, num_attention_heads=dims["heads"], num_key_value_heads=dims["kv_heads"],
                      max_position_embeddings=8192, rope_theta=500000.0, rms_norm_eps=1e-5, tie_word_embeddings=False,
                      bos_token_id=1, eos_token_id=2, pad_token_id=0)
    torch.manual_seed(0)
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.bfloat16)
    try:
        with torch.device(device):
            model = LlamaForCausalLM(cfg)
    finally:
        torch.set_default_dtype(old)
    model.save_pretrained(str(folder))
    del model
    free_cuda()
    return time.time() - t


def layer_view(folder: Path, layers: int) -> Path:
    """The saved model seen with fewer layers: its own config.json, the weights and tokenizer linked
    (from_pretrained skips the layers beyond ``num_hidden_layers``)."""
    view = folder.parent / f"{folder.name}-L{layers}"
    shutil.rmtree(view, ignore_errors=True)
    view.mkdir(parents=True)
    for f in folder.iterdir():
        if f.name != "config.json":
            os.symlink(f, view / f.name)
    cfg = json.loads((folder / "config.json").read_text())
    cfg["num_hidden_layers"] = layers
    (view / "config.json").write_text(json.dumps(cfg, indent=2))
    return view


def probe_step(kind: str, model_dir: Path, work: Path, seq: int, micro_batch: int, completion: int,
               adapter: Path | None = None) -> dict[str, Any]:
    """One SFT (or DPO) step through petool's loader, LoRA, TRL config and fp32 fix; peak GPU memory."""
    import torch
    from datasets import Dataset
    from peft import PeftModel

    from petool_utils.training.modeling import load_base, load_tokenizer, lora_config, trainable_snapshot
    from petool_utils.training.trainer import fit_and_train, trl_args

    cuda = torch.cuda.is_available()
    rng = random.Random(0)
    tok = load_tokenizer(model_dir)
    common = {"max_length": seq, "gradient_checkpointing": True, "max_steps": 1, "logging_steps": 1,
              "save_strategy": "no", "gradient_accumulation_steps": 1, "lr_scheduler_type": "constant"}
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    t = time.time()
    model = load_base(model_dir, "4bit")
    loaded = torch.cuda.memory_allocated() / GiB if cuda else None
    load_s = time.time() - t
    lora = {"r": 16, "lora_alpha": 32, "lora_dropout": 0.05, "target_modules": "all-linear"}
    stage = work / f"probe-{kind}-{model_dir.name}"
    if kind == "sft":
        from trl import SFTTrainer

        rows = []
        for _ in range(micro_batch):
            prompt, a, _b = sized_conversation(tok, seq, completion, rng)
            rows.append({"prompt": prompt, "completion": a})
        args = trl_args("sft", {**common, "per_device_train_batch_size": micro_batch, "learning_rate": 1e-4}, stage, 0, False)
        trainer = SFTTrainer(model=model, args=args, train_dataset=Dataset.from_list(rows), processing_class=tok,
                             peft_config=lora_config(lora))
        exact = None
    else:
        from trl import DPOTrainer

        prompt, a, b = sized_conversation(tok, seq, completion, rng)
        model = PeftModel.from_pretrained(model, str(adapter), is_trainable=True)
        exact = trainable_snapshot(model)
        args = trl_args("dpo", {**common, "per_device_train_batch_size": 1, "learning_rate": 5e-6, "beta": 0.1,
                                "loss_type": ["sigmoid"]}, stage, 0, False)
        trainer = DPOTrainer(model=model, args=args, train_dataset=Dataset.from_list([{"prompt": prompt, "chosen": a, "rejected": b}]),
                             processing_class=tok)
    info = fit_and_train(trainer, exact, None)
    res: dict[str, Any] = {"load_s": round(load_s, 1), "weights_allocated_gib": round(loaded, 3) if loaded is not None else None,
                           "peak_allocated_gib": info.get("cuda_peak_allocated_gib"), "peak_reserved_gib": info.get("cuda_peak_reserved_gib"),
                           "step_s": info["train_seconds"], "trainable_dtypes_at_start": info["trainable_dtypes_at_start"]}
    if kind == "sft":
        res["adapter"] = str(stage / "adapter")
        trainer.save_model(str(stage / "adapter"))
    else:
        logged = [h for h in trainer.state.log_history if "rewards/margins" in h]
        res["reward_margin_step1"] = float(logged[0]["rewards/margins"]) if logged else None
    if not cuda:  # a CPU stand-in for the figure, so the extrapolation code runs in the dry run
        import resource

        res["cpu_maxrss_gib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / GiB, 3)
    del trainer, model
    free_cuda()
    return res


def extrapolate(points: dict[int, float], to_layers: int) -> float | None:
    """Linear in the layer count through the two probes: f(L) = f(a) + (L - a) * (f(b) - f(a)) / (b - a)."""
    (a, fa), (b, fb) = sorted(points.items())[:2]
    if fa is None or fb is None or b == a:
        return None
    return fa + (to_layers - a) * (fb - fa) / (b - a)


def memory_probe_part(work: Path, dry: bool, deadline: float, layers: tuple[int, int]) -> dict[str, Any]:
    import torch

    from petool_utils.training.memory import LlamaShape, estimate_qlora_memory

    cuda = torch.cuda.is_available()
    if dry:
        dims = {"hidden": 64, "intermediate": 224, "heads": 4, "kv_heads": 2, "vocab": 2048}
        seq, completion = 256, 16
    else:
        dims = {"hidden": 4096, "intermediate": 14336, "heads": 32, "kv_heads": 8, "vocab": 128256}
        seq, completion = 4096, 64
    micro_batch = 2
    folder = work / "probe-llama"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    build_s = build_probe_model(folder, dims, max(layers), "cuda" if cuda else "cpu")
    word_tokenizer(folder)
    log(f"   probe model ({max(layers)} layers, {dims}) built and saved in {build_s:.1f} s")
    shape = LlamaShape(hidden=dims["hidden"], intermediate=dims["intermediate"], heads=dims["heads"],
                       kv_heads=dims["kv_heads"], vocab=dims["vocab"])
    out: dict[str, Any] = {"dims": dims, "seq_len": seq, "micro_batch": micro_batch, "completion_tokens": completion,
                           "build_s": round(build_s, 1), "by_layers": {}}
    for n in layers:
        if time.time() > deadline - 20:
            out["by_layers"][n] = {"skipped": "budget"}
            continue
        view = layer_view(folder, n)
        row: dict[str, Any] = {}
        try:
            row["sft"] = probe_step("sft", view, work, seq, micro_batch, completion)
            log(f"   L={n} SFT: peak allocated {row['sft']['peak_allocated_gib']} GiB, reserved {row['sft']['peak_reserved_gib']} GiB")
            row["dpo"] = probe_step("dpo", view, work, seq, micro_batch, completion, Path(row["sft"]["adapter"]))
            log(f"   L={n} DPO: peak allocated {row['dpo']['peak_allocated_gib']} GiB, reserved {row['dpo']['peak_reserved_gib']} GiB")
        except Exception as exc:  # noqa: BLE001 - keep the other layer count's figures
            row["error"] = f"{type(exc).__name__}: {exc}"[:1500]
            row["traceback"] = traceback.format_exc()[-3000:]
            log(f"   L={n} FAILED: {row['error'][:400]}")
        est = estimate_qlora_memory(shape.with_layers(n), seq_len=seq, micro_batch=micro_batch, completion_tokens=completion)
        row["estimate_allocated_gib"] = round(est.allocated_gib, 3)
        out["by_layers"][n] = row
        free_cuda()
    metric = "peak_allocated_gib" if cuda else "cpu_maxrss_gib"
    full = LlamaShape(hidden=dims["hidden"], intermediate=dims["intermediate"], heads=dims["heads"], kv_heads=dims["kv_heads"],
                      vocab=dims["vocab"])
    est32 = estimate_qlora_memory(full, seq_len=seq, micro_batch=micro_batch, completion_tokens=completion)
    out["extrapolated_32_layers"] = {}
    for kind in ("sft", "dpo"):
        for m in (metric, "peak_reserved_gib"):
            pts = {n: (out["by_layers"][n].get(kind) or {}).get(m) for n in layers}
            val = extrapolate(pts, 32) if len(pts) == 2 else None
            out["extrapolated_32_layers"][f"{kind}_{m}"] = round(val, 2) if val is not None else None
    out["estimate_32_layers"] = {"allocated_gib": round(est32.allocated_gib, 2), "total_gib_with_cuda_context": round(est32.total_gib, 2),
                                 "terms": dict(est32.as_rows())}
    shutil.rmtree(folder, ignore_errors=True)
    for p in work.glob("probe-llama-L*"):
        shutil.rmtree(p, ignore_errors=True)
    return out


# -- main -------------------------------------------------------------------------------------------------

def short_summary(s: dict[str, Any]) -> dict[str, Any]:
    parts = s["parts"]
    tr = parts.get("petool_train_sft_dpo", {})
    mp = parts.get("memory_probe_8b_shape", {})
    env = parts.get("environment", {})
    return {
        "mode": s["mode"], "elapsed_s": s.get("elapsed_s"), "gpu": env.get("gpu"),
        "ok": {k: v.get("ok") for k, v in parts.items()},
        "train_checks": tr.get("checks"),
        "sft_peak_gib": (tr.get("sft") or {}).get("cuda_peak_allocated_gib"),
        "dpo_peak_gib": (tr.get("dpo") or {}).get("cuda_peak_allocated_gib"),
        "sft_s": (tr.get("sft") or {}).get("wall_s"), "dpo_s": (tr.get("dpo") or {}).get("wall_s"),
        "probe_32_layers": mp.get("extrapolated_32_layers"),
        "estimate_32_layers_allocated_gib": (mp.get("estimate_32_layers") or {}).get("allocated_gib"),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=os.environ.get("OUT") or "gpu_smoke_out")
    ap.add_argument("--work", default="/tmp/petool_gpu_smoke", help="scratch folder for models (never under --out)")
    ap.add_argument("--cpu-dry-run", action="store_true", help="tiny sizes on CPU: the same code paths, no GPU figures")
    ap.add_argument("--budget-s", type=float, default=330.0, help="stop starting parts after this many seconds")
    ap.add_argument("--layers", default="2,4", help="layer counts of the memory probe")
    ap.add_argument("--skip", default="", help="comma-separated parts to skip: train, probe")
    args = ap.parse_args()
    out, work = Path(args.out), Path(args.work)
    out.mkdir(parents=True, exist_ok=True)
    work.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    deadline = T0 + args.budget_s
    summary = Summary(out, "cpu-dry-run" if args.cpu_dry_run else "gpu")
    skip = set(filter(None, args.skip.split(",")))
    env = summary.part("environment", environment, deadline, 0)
    if not args.cpu_dry_run and not env.get("cuda_available"):
        log("no CUDA device: use --cpu-dry-run for a CPU rehearsal; the GPU parts are recorded as skipped")
    if "train" not in skip:
        summary.part("petool_train_sft_dpo", lambda: petool_train_part(work, args.cpu_dry_run, deadline), deadline, 60)
    if "probe" not in skip:
        layers = tuple(int(x) for x in args.layers.split(","))
        summary.part("memory_probe_8b_shape", lambda: memory_probe_part(work, args.cpu_dry_run, deadline, layers), deadline, 90)
    short = short_summary(summary.data)
    summary.data["summary"] = short
    summary.save()
    print(json.dumps(short, default=str), flush=True)
    return 0 if all(p.get("ok") for p in summary.data["parts"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
