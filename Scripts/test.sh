#!/usr/bin/env bash
# Runs dynsync's test suite (unit tests, reader fixtures, regression fixtures), after checking
# that the sources are formatted and lint-clean (Scripts/format.sh fixes what it can).
set -euo pipefail
cd "$(dirname "$0")/.."
bash Scripts/setup.sh
bash Scripts/format.sh --check
swift build --build-tests -Xswiftc -warnings-as-errors
bash Scripts/check-help.sh
swift test --skip-build
