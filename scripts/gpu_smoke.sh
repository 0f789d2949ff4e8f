#!/usr/bin/env bash
# The GPU smoke of petool's QLoRA path (docs/training.md, "GPU smoke"): petool's own `train sft` and
# `train dpo` in 4-bit on the tiny stand-in, and a memory probe of LLaMA-3.1-8B's shape at 4,096 tokens.
#
#   bash scripts/gpu_smoke.sh                # on a CUDA machine (installs .whl/*.whl first if present)
#   bash scripts/gpu_smoke.sh --cpu-dry-run  # the same code paths at tiny sizes on CPU
#
# Writes $OUT/summary.json and $OUT/log.txt ($OUT: set by the device tool; default ./gpu_smoke_out);
# the last line printed is one JSON summary. Then: python scripts/gpu_smoke_report.py $OUT/summary.json
set -u
cd "$(dirname "$0")/.."
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_DATASETS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
OUT="${OUT:-./gpu_smoke_out}"
mkdir -p "$OUT"
PY="${PYTHON:-python3}"
echo "[$(date +%H:%M:%S)] gpu_smoke.sh: $PY, OUT=$OUT, args: $*"
if [[ " $* " != *" --cpu-dry-run "* ]] && compgen -G ".whl/*.whl" >/dev/null; then
  echo "[$(date +%H:%M:%S)] installing $(ls .whl/*.whl | wc -l) wheels from .whl/ into /tmp/site"
  "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
    || echo "[$(date +%H:%M:%S)] WARNING: wheel install failed; going on with what is installed"
  export PYTHONPATH="/tmp/site:$PWD"
else
  export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
fi
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,memory.used --format=csv,noheader
# at most ~9 minutes in all; the Python script stops starting parts after --budget-s (default 330 s)
timeout -k 10 520 "$PY" -u scripts/gpu_smoke.py --out "$OUT" "$@" 2>&1 | tee "$OUT/log.txt"
rc=${PIPESTATUS[0]}
echo "[$(date +%H:%M:%S)] gpu_smoke.sh: exit $rc"
exit "$rc"
