#!/usr/bin/env bash
# The prepared GPU benchmark (issue 12): `glam-bench bench` for the flan-t5-large, flan-t5-small
# and smollm2-135m shapes (random weights, no download) in bf16, tf32 and fp32, at the paper
# preset's batch geometry (32 envs, 4 epochs of minibatches of 64) with the rollout shortened to
# FRAMES_PER_ENV frames per env. Writes results/benchmarks/<device>.json and <device>.md,
# rewritten after every benchmark, so a run cut short keeps what finished; records already in
# that JSON stay unless re-measured (a later partial run, e.g. MODELS=smollm2-135m, adds to it).
#
# For an air-gapped CUDA node that has PyTorch, transformers, peft, pandas and matplotlib: the
# suite's other dependencies are installed from the wheels that benchmarks/prepare_wheels.sh
# downloaded into .whl/ (copied beside the checkout) into a private folder, nothing system-wide.
#
#   bash benchmarks/gpu.sh            # on the GPU node; refuses without CUDA
#   bash benchmarks/gpu.sh --smoke    # the same steps on the CPU with tiny models (a test)
#
# Env overrides: MODELS, PRECISIONS (space-separated), PYTHON, WHEELS (.whl), SITE, OUT_DIR (results/benchmarks), FRAMES_PER_ENV (2),
# CYCLES (2), BENCH_TIMEOUT (seconds per benchmark, 120), TOTAL_BUDGET (seconds for all, 330), PARTS_DIR (work/benchmarks/<device>).
set -uo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-python3}
smoke=0
[[ "${1:-}" == "--smoke" ]] && smoke=1

if [[ $smoke == 0 ]] && ! "$python" -c "import torch, sys; sys.exit(not torch.cuda.is_available())" 2>/dev/null; then
  echo "gpu.sh: no CUDA GPU visible to $python (torch.cuda.is_available() is False); run it on a GPU node, or use --smoke" >&2
  exit 3
fi

wheels=${WHEELS:-.whl}
site=${SITE:-$(mktemp -d /tmp/glam-bench-site.XXXXXX)}
if compgen -G "$wheels/*.whl" >/dev/null; then
  echo "gpu.sh: installing $(ls "$wheels"/*.whl | wc -l) wheels from $wheels into $site"
  "$python" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target "$site" "$wheels"/*.whl || { echo "gpu.sh: installing the wheels of $wheels failed" >&2; exit 4; }
fi
export PYTHONPATH="$PWD:$site${PYTHONPATH:+:$PYTHONPATH}"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false PYTHONUNBUFFERED=1
"$python" -c "import glam_bench.agents.llm_ppo, glam_bench.tools.bench, jsonschema, minigrid" ||
  { echo "gpu.sh: the suite does not import here; are the wheels of $wheels installed?" >&2; exit 4; }

if [[ $smoke == 1 ]]; then
  device=cpu models=(tiny-t5 tiny-gpt2) precisions=(bf16 fp32)
  geometry=(--num-envs 2 --frames-per-env 1 --threads 1) cycles=${CYCLES:-1}
else
  device=cuda
  read -ra models <<<"${MODELS:-flan-t5-large flan-t5-small smollm2-135m}"
  read -ra precisions <<<"${PRECISIONS:-bf16 tf32 fp32}"
  geometry=(--frames-per-env "${FRAMES_PER_ENV:-2}") cycles=${CYCLES:-2}
  nvidia-smi --query-gpu=name,memory.total,clocks.sm,clocks.max.sm,power.draw --format=csv || true
fi
label=$("$python" -c "
import re, torch
name = torch.cuda.get_device_name() if '$device' == 'cuda' else 'cpu-smoke'
print(re.sub(r'[^A-Za-z0-9.-]+', '-', name).strip('-'))")
out_dir=${OUT_DIR:-results/benchmarks}
mkdir -p "$out_dir"
parts=${PARTS_DIR:-work/benchmarks/$label}  # one JSON per benchmark (git-ignored)
mkdir -p "$parts"

for model in "${models[@]}"; do
  for precision in "${precisions[@]}"; do
    left=$(( ${TOTAL_BUDGET:-330} - SECONDS ))
    if (( left < 20 )); then echo "gpu.sh: time budget spent, skipping $model $precision"; continue; fi
    limit=$(( left < ${BENCH_TIMEOUT:-120} ? left : ${BENCH_TIMEOUT:-120} ))
    echo "gpu.sh: $model $precision (limit ${limit}s, ${SECONDS}s elapsed)"
    timeout "$limit" "$python" -m glam_bench.cli bench --model "$model" \
      --config workflows/config/paper.yaml --precision "$precision" --device "$device" \
      --cycles "$cycles" "${geometry[@]}" --out "$parts/$model-$precision.json" ||
      echo "gpu.sh: $model $precision failed or timed out (exit $?)"
    "$python" -m glam_bench.tools.bench "$parts" "$out_dir/$label.json" "$out_dir/$label.md"
  done
done
echo "gpu.sh: wrote $out_dir/$label.json and $out_dir/$label.md"
cat "$out_dir/$label.md"
