#!/usr/bin/env bash
# Puts a device run's pieces back together here: collect.sh <folder holding result.tar.xz.part-*> <out>
set -euo pipefail
parts=${1:?folder with result.tar.xz.part-*}
dest=${2:?where the run goes}
mkdir -p "$dest"
cat "$parts"/result.tar.xz.part-* | xz -dc | tar -C "$dest" -xf -
# The last regime's files at the top of models/, as hef train leaves them (the recipe names the order).
last=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["config"]["regime"]["regimes"][-1])' "$dest/recipe.json")
cp "$dest/models/$last"/*.gguf "$dest/models/"
ls -l "$dest" "$dest/models"
