#!/usr/bin/env bash
# Runs the test suite under AddressSanitizer and under ThreadSanitizer, each in its own build
# folder. Usage: bash Scripts/sanitizers.sh [address|thread]...   (both when none is named)
set -euo pipefail
cd "$(dirname "$0")/.."
bash Scripts/setup.sh
sanitizers=("$@")
[ ${#sanitizers[@]} -gt 0 ] || sanitizers=(address thread)
# Known leaks inside Foundation, not dynsync: see the file.
export LSAN_OPTIONS="suppressions=$PWD/Scripts/lsan-suppressions.txt:print_suppressions=0"
for sanitizer in "${sanitizers[@]}"; do
  echo "== swift test --sanitize=$sanitizer" >&2
  swift build --build-tests --sanitize="$sanitizer" --scratch-path ".build-$sanitizer"
  swift test --skip-build --sanitize="$sanitizer" --scratch-path ".build-$sanitizer"
done
