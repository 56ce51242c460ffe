#!/usr/bin/env bash
# Runs dynsync's main job on the sample org: two consecutive syncs into a fresh workspace.
set -euo pipefail
cd "$(dirname "$0")/.."
bash Scripts/setup.sh
swift build --product dynsync >&2
dynsync="$(swift build --show-bin-path)/dynsync"
workspace=out/contoso-workspace
rm -rf "$workspace"

echo "== dynsync sync --workspace $workspace Samples/contoso/01-initial/webapi   (the initial sync)"
"$dynsync" sync --quiet --workspace "$workspace" Samples/contoso/01-initial/webapi | tail -n 2
echo
echo "== dynsync sync --workspace $workspace --marketo-changes Samples/contoso/02-next/marketo-changes.csv Samples/contoso/02-next/webapi"
echo "   (a week later, with the edits made on the Marketo side that week)"
"$dynsync" sync --quiet --workspace "$workspace" --marketo-changes Samples/contoso/02-next/marketo-changes.csv \
  Samples/contoso/02-next/webapi
echo
echo "== the same week exported with the Configuration Migration tool: nothing new"
"$dynsync" sync --quiet --workspace "$workspace" Samples/contoso/02-next/cmt
echo
echo "== files of batch 000002"
(cd "$workspace/batches/000002" && find changes marketo outbound conflicts.ndjson rejects.ndjson manifest.json -type f | sort | while read -r file; do
  printf '  %-40s %6d lines\n' "$file" "$(wc -l < "$file")"
done)
echo
echo "== written back to Dynamics (outbound/dynamics/leads.ndjson) and conflicts"
cat "$workspace/batches/000002/outbound/dynamics/leads.ndjson"
cat "$workspace/batches/000002/conflicts.ndjson"
echo
"$dynsync" history --workspace "$workspace"
