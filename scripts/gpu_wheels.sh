#!/usr/bin/env bash
# Download, here (where PyPI is reachable), the wheels that scripts/gpu_smoke.sh installs on the GPU
# machine, which has no network: what its image lacks (trl, bitsandbytes, datasets and their small
# dependencies dill and multiprocess; pydantic for petool itself) plus peft at our pinned version.
# Python 3.12, x86-64 manylinux. The folder .whl/ is git-ignored (.gitignore: /.whl/); it travels to
# the device as a carried path, and everything sent must stay under 64 MiB (about 50 MiB here).
#
#   bash scripts/gpu_wheels.sh                      # the default set
#   bash scripts/gpu_wheels.sh --with-transformers  # also transformers 5.24.0 (+13.5 MB; the image has 5.17)
set -euo pipefail
cd "$(dirname "$0")/.."
grep -qxF '/.whl/' .gitignore || echo '/.whl/' >> "$(git rev-parse --git-path info/exclude)"
PKGS=(
  trl==1.16.0
  bitsandbytes==0.50.2
  datasets==5.2.0
  peft==0.21.2
  dill==0.4.1
  multiprocess==0.70.19
  pydantic==2.14.4
  pydantic-core==2.50.5
  annotated-types==0.8.0
  typing-inspection==0.4.5
  typing-extensions==4.16.0
)
if [[ "${1:-}" == "--with-transformers" ]]; then PKGS+=(transformers==5.24.0); fi
mkdir -p .whl
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_24_x86_64 --platform manylinux_2_17_x86_64 \
  --platform manylinux2014_x86_64 -d .whl "${PKGS[@]}"
# one version of each package (two would stop the whole install on the device)
ls .whl
du -sh .whl
