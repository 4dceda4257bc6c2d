#!/usr/bin/env bash
# Download, on a machine with network access, the wheels that benchmarks/gpu.sh installs on an
# air-gapped CUDA node that already has PyTorch, transformers, peft, pandas, matplotlib, numpy,
# pyyaml, tqdm, scipy, attrs, cloudpickle and typing-extensions, but none of the suite's other
# dependencies. Linux x86-64, CPython 3.12 wheels (set PYTHON_VERSION for another). No model
# weights; about 16 MiB. .whl/ is git-ignored: copy it beside the checkout, never commit it.
#
#   bash benchmarks/prepare_wheels.sh [DEST]       # DEST defaults to .whl
set -euo pipefail
dest="${1:-.whl}"
python_version="${PYTHON_VERSION:-3.12}"
# The suite's pinned env stack, and what each needs that such a node lacks: minigrid imports
# pygame (pygame-ce, its declared dependency) at import time; jsonschema validates presets.
wheels=(
  minigrid==3.2.0 gymnasium==1.4.0 farama-notifications==0.0.4 pygame-ce==2.5.8
  jsonschema==4.26.0 jsonschema-specifications==2025.9.1 referencing==0.37.0 rpds-py==0.27.1
)
platforms=()
for p in manylinux_2_28_x86_64 manylinux_2_27_x86_64 manylinux_2_17_x86_64 manylinux2014_x86_64 \
         manylinux1_x86_64; do
  platforms+=(--platform "$p")
done
mkdir -p "$dest"
python3 -m pip download --no-deps --only-binary=:all: --python-version "$python_version" \
  --implementation cp "${platforms[@]}" -d "$dest" "${wheels[@]}"
du -sh "$dest"
