#!/usr/bin/env bash
# The whole training recipe on a lent GPU machine, from nothing but what travels: builds the corpus
# there (its installed Python packages and standard library, plus the carried JavaScript/TypeScript
# archive), trains every stage with the gpu preset's time budgets, exports, and leaves the models,
# the recipe record and the logs in $OUT as pieces of at most 15 MiB (collect.sh puts them together).
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
max_bytes=${HEF_DEVICE_MAX_BYTES:-300M}
rm -rf "$work" && mkdir -p "$work"
started=$(date +%s)
stamp() { echo "[device $(( $(date +%s) - started )) s] $*"; }

xz -dc "$carry/node.xz" > "$work/node" && chmod +x "$work/node"
"$python" -m zipfile -e "$carry/hef.vsix" "$work/vsix"
"$python" -m pip install -q --no-index --no-deps --no-compile --target "$work/site" "$carry"/wheels/*.whl
export PYTHONPATH="$work/site:$root/training"
export HEF_CLI="[\"$work/node\", \"$work/vsix/extension/dist/hef.mjs\"]"
"$work/node" "$work/vsix/extension/dist/hef.mjs" --help > /dev/null
stamp "tools ready: node $("$work/node" --version), $("$python" -c 'import torch; print("torch", torch.__version__, torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU")')"

stdlib=$("$python" -c 'import sysconfig; print(sysconfig.get_paths()["stdlib"])')
site=$("$python" -c 'import site; print(" ".join("--source site-packages:" + p for p in site.getsitepackages()))')
"$python" -m hef_training.corpus --source "stdlib:$stdlib" --languages python --out "$work/corpus-stdlib" --quiet
# shellcheck disable=SC2086
"$python" -m hef_training.corpus $site --languages python --held-out "$held_out" --max-package-bytes 1M --max-bytes "$max_bytes" --out "$work/corpus-python" --quiet
mkdir -p "$work/corpus-js" && tar -C "$work/corpus-js" -xJf "$carry/js-corpus.tar.xz"
stamp "corpus: $(cat "$work"/corpus-*/corpus-manifest.tsv | grep -vc '^package')" packages

status=0
"$python" -m hef_training train --repos "$work"/corpus-*/repos/* --out "$work/run" --preset "$preset" "$@" || status=$?
stamp "training exited with $status"

for c in "$work"/corpus-*; do cp "$c/corpus-manifest.tsv" "$work/run/$(basename "$c")-manifest.tsv"; done
# Each regime's folder holds its complete set; the top level repeats the last one's (not sent twice).
(cd "$work/run" && tar -cf - models/embedder.gguf models/separate models/e2e recipe.json uwl.json logs ./*-manifest.tsv 2>/dev/null) \
  | xz -T0 -1 > "$work/result.tar.xz" || true
split -b 15M -d "$work/result.tar.xz" "$out/result.tar.xz.part-"
ls -l "$out"
stamp "done"
exit "$status"
