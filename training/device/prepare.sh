#!/usr/bin/env bash
# Prepares, on this machine, what the device run carries (training/device/carry/, git-ignored, under
# the device tool's 64 MiB): a Node.js binary (the device has none), the packaged extension (its
# dist/hef.mjs runs `hef tasks` and `hef export` there, with the llama.cpp CPU build), a licence-checked
# archive of JavaScript/TypeScript sources for the corpus, and the one wheel the device lacks (gguf).
# What travels with it (the working tree, ~15 MB) must stay under 64 MiB too: the script prints both.
#
#   training/device/prepare.sh        then run training/device/run.sh there (see README.md)
set -euo pipefail
cd "$(dirname "$0")/../.."
carry=training/device/carry
rm -rf "$carry" && mkdir -p "$carry/wheels"

xz -T2 -6 -c "$(command -v node)" > "$carry/node.xz"

npm run --silent package
# Without its models/ (the run links the working tree's: the same files would travel twice) and in
# xz rather than the package's zip: 15 MB less of the 64 MiB.
unpacked=$(mktemp -d)
python3 -m zipfile -e hef-code-linux-x64-*.vsix "$unpacked"
rm -rf "$unpacked/extension/models" hef-code-linux-x64-*.vsix
tar -C "$unpacked" -cf - extension | xz -T2 -6 > "$carry/hef.tar.xz"
rm -rf "$unpacked"

node scripts/setup-training.mjs --quiet
js=$(mktemp -d)
.venv/bin/python -m hef_training.corpus --source npm:node_modules --languages javascript,typescript \
  --max-package-bytes 200K --max-bytes 16M --out "$js/corpus" --quiet
tar -C "$js/corpus" -cJf "$carry/js-corpus.tar.xz" .
rm -rf "$js"

.venv/bin/python -m pip download -q --no-deps --only-binary=:all: --index-url file:///opt/pypi/simple -d "$carry/wheels" gguf==0.19.0

du -sh "$carry"/*
echo "travels: $(( ($(du -sb "$carry" | cut -f1) + $(git ls-files -z | xargs -0 du -cb | tail -1 | cut -f1)) / 1048576 )) MiB of 64"
