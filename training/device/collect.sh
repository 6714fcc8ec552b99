#!/usr/bin/env bash
# Puts a device run's pieces back together here: collect.sh <folder holding result.tar.xz.part-*> <out>
set -euo pipefail
parts=${1:?folder with result.tar.xz.part-*}
dest=${2:?where the run goes}
mkdir -p "$dest"
cat "$parts"/result.tar.xz.part-* | xz -dc | tar -C "$dest" -xf -
# The last regime's files at the top of models/, as hef train leaves them.
last=$(ls -d "$dest"/models/e2e "$dest"/models/separate 2>/dev/null | head -1)
cp "$last"/*.gguf "$dest/models/"
ls -l "$dest" "$dest/models"
