#!/usr/bin/env bash
# The whole training recipe on a lent GPU machine, from nothing but what travels: a smoke run of every
# stage on this repository's own folders first (a CUDA-only defect then ends the call within a minute,
# while the lease still affords a second try), then the corpus there (its installed Python packages
# and standard library, plus the carried JavaScript/TypeScript archive), every stage with the gpu
# preset's time budgets and the shipped embedder, stopped at a deadline whatever happens, and the
# models, the recipe record and the logs in $OUT as pieces of at most 15 MiB (collect.sh joins them).
#
#   device run, carrying training/device/carry:  bash training/device/run.sh [preset [hef train options...]]
#
# Held out of the corpus: the evaluation repositories of the quality table (README "Quality").
set -euo pipefail
export PYTHONUNBUFFERED=1
root=$(pwd)
preset=${1:-gpu}
shift || true
carry=$root/training/device/carry
work=${HEF_DEVICE_WORK:-/tmp/hef-device}
out=${OUT:?the device tool sets OUT}
held_out=attrs,click,flask,marshmallow,httpx,toolz
python=${HEF_DEVICE_PYTHON:-python3}
max_bytes=${HEF_DEVICE_MAX_BYTES:-200M}
# Seconds after the start by which training stops (SIGINT), leaving the packing inside the call's 600.
deadline=${HEF_DEVICE_DEADLINE:-550}
embedder=$root/models/default/embedder.gguf
rm -rf "$work" && mkdir -p "$work"
started=$(date +%s)
stamp() { echo "[device $(( $(date +%s) - started )) s] $*"; }

xz -dc "$carry/node.xz" > "$work/node" && chmod +x "$work/node"
mkdir -p "$work/vsix" && xz -dc "$carry/hef.tar.xz" | tar -C "$work/vsix" -xf -
ln -s "$root/models" "$work/vsix/extension/models"
"$python" -m pip install -q --no-index --no-deps --no-compile --target "$work/site" "$carry"/wheels/*.whl
export PYTHONPATH="$work/site:$root/training"
export HEF_CLI="[\"$work/node\", \"$work/vsix/extension/dist/hef.mjs\"]"
"$work/node" "$work/vsix/extension/dist/hef.mjs" --help > /dev/null
stamp "tools ready: node $("$work/node" --version), $("$python" -c 'import torch; print("torch", torch.__version__, torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU")')"

if [ "${HEF_DEVICE_SMOKE:-1}" = 0 ]; then
  stamp "smoke run skipped (HEF_DEVICE_SMOKE=0)"
else
  "$python" -m hef_training train --repos "$root/samples/shop" "$root/sidecar/completion" "$root/sidecar/cache" "$root/extension" \
    --out "$work/smoke" --preset smoke --embedder "$embedder" --set regime.max_repos=4 > "$work/smoke.log" 2>&1 \
    || { tail -40 "$work/smoke.log"; stamp "the smoke run failed"; exit 1; }
  stamp "smoke run of every stage passed"
fi

stdlib=$("$python" -c 'import sysconfig; print(sysconfig.get_paths()["stdlib"])')
site=$("$python" -c 'import os, site; print(" ".join("--source site-packages:" + p for p in site.getsitepackages() if os.path.isdir(p)))')
"$python" -m hef_training.corpus --source "stdlib:$stdlib" --languages python --out "$work/corpus-stdlib" --quiet
# shellcheck disable=SC2086
"$python" -m hef_training.corpus $site --languages python --held-out "$held_out" --max-package-bytes 1M --max-bytes "$max_bytes" --out "$work/corpus-python" --quiet
mkdir -p "$work/corpus-js" && tar -C "$work/corpus-js" -xJf "$carry/js-corpus.tar.xz"
stamp "corpus: $(cat "$work"/corpus-*/corpus-manifest.tsv | grep -vc '^package')" packages

left=$(( deadline - ($(date +%s) - started) ))
set +e  # whatever training does, what it left is packed
timeout -s INT -k 20 "$left" "$python" -m hef_training train --repos "$work"/corpus-*/repos/* --out "$work/run" --preset "$preset" \
  --embedder "$embedder" "$@" 2>&1 | tee "$out/train.log"
status=${PIPESTATUS[0]}
set -e
stamp "training exited with $status ($([ "$status" = 124 ] && echo "stopped at the deadline" || echo "on its own"))"

mkdir -p "$work/run"
for c in "$work"/corpus-*; do cp "$c/corpus-manifest.tsv" "$work/run/$(basename "$c")-manifest.tsv"; done
# Each regime's folder holds its complete set; the top level repeats the last one's (not sent twice).
# The pre-trained generator goes back only when no regime finished: the 64 MiB hold two generators.
cd "$work/run"
keep=(models/separate models/e2e recipe.json uwl.json logs ./*-manifest.tsv)
[ -e models/e2e/generator.gguf ] || keep+=(models/pretrained)
tar -cf - "${keep[@]}" 2>/dev/null \
  | xz -T0 -1 > "$work/result.tar.xz" || true
split -b 15M -d "$work/result.tar.xz" "$out/result.tar.xz.part-"
ls -l "$out"
stamp "done"
exit "$status"
