#!/usr/bin/env bash
# Formats the Swift sources with the toolchain's swift-format (settings in .swift-format), then
# lists what its linter still finds. Usage: bash Scripts/format.sh [--check]
set -euo pipefail
cd "$(dirname "$0")/.."
paths=(Package.swift Sources Tests Fuzz)
if [ "${1:-}" = "--check" ]; then
  exec swift format lint --strict --recursive --parallel "${paths[@]}"
fi
swift format format --in-place --recursive --parallel "${paths[@]}"
swift format lint --recursive --parallel "${paths[@]}" || true
