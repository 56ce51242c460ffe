#!/usr/bin/env bash
# Runs dynsync's main job on the sample org: the changes between its two exports, as a batch.
set -euo pipefail
cd "$(dirname "$0")/.."
bash Scripts/setup.sh
swift build --product dynsync >&2
dynsync="$(swift build --show-bin-path)/dynsync"

echo "== dynsync inspect Samples/contoso/02-next/webapi (tables only)"
"$dynsync" inspect --quiet Samples/contoso/02-next/webapi | grep -E '^[a-z0-9_]+ \((full|delta)\)'
echo
echo "== dynsync diff Samples/contoso/01-initial/webapi -> 02-next/webapi"
status=0
"$dynsync" diff --quiet --force --summary --marketo \
  --previous Samples/contoso/01-initial/webapi \
  --current Samples/contoso/02-next/webapi \
  --out out/contoso-02 || status=$?
# Exit status 1 means "differences found", which is what this sample shows.
[ "$status" -le 1 ] || exit "$status"
echo
echo "== first change of out/contoso-02/changes/account.ndjson"
head -n 1 out/contoso-02/changes/account.ndjson
echo
echo "== Marketo import files in out/contoso-02/marketo"
(cd out/contoso-02/marketo && find . -type f | sort | while read -r file; do
  printf '  %-40s %6d lines\n' "${file#./}" "$(wc -l < "$file")"
done)
