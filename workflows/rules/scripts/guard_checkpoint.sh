#!/usr/bin/env bash
# guard_checkpoint.sh CHECKPOINT CONFIG_SHA256
#
# Called before `glam-bench train` by the training rules. The CLI resumes from CHECKPOINT when
# it exists; that is right after a kill or a time limit, wrong after the run's config changed
# (Snakemake reruns the job because its params changed). The sha256 of the resolved run config
# is kept beside the checkpoint; when it differs, the checkpoint is moved to CHECKPOINT.stale
# (one old copy kept) and the run starts over.
set -euo pipefail
checkpoint=$1
sha=$2
stamp="$checkpoint.config-sha256"
if [ -f "$checkpoint" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" != "$sha" ]; then
    echo "the run config changed since $checkpoint was written: moved it to $checkpoint.stale, training from scratch"
    mv -f "$checkpoint" "$checkpoint.stale"
fi
mkdir -p "$(dirname "$checkpoint")"
echo "$sha" >"$stamp"
