#!/usr/bin/env bash
# Runs dynsync's test suite (unit tests, reader fixtures, regression fixtures).
set -euo pipefail
cd "$(dirname "$0")/.."
bash Scripts/setup.sh
swift build --build-tests -Xswiftc -warnings-as-errors
swift test --skip-build
