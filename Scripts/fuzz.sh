#!/usr/bin/env bash
# Coverage-guided fuzzing of the readers with libFuzzer, for a fixed budget.
# Usage: bash Scripts/fuzz.sh [seconds=120]
# Crashes land in Fuzz/crashes/; each one found becomes a case in Tests/Corpus/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash Scripts/setup.sh
seconds="${1:-120}"
scratch=.build-fuzz
swift build --sanitize=fuzzer --scratch-path "$scratch" --target DynSyncReaders >&2
bin="$(swift build --sanitize=fuzzer --scratch-path "$scratch" --show-bin-path)"
objects=$(find "$bin/DynSyncCore.build" "$bin/DynSyncReaders.build" -name '*.o' 2>/dev/null || true)
swiftc -sanitize=fuzzer,address -parse-as-library -O -g \
  -I "$bin/Modules" -I /usr/include/libxml2 \
  -Xcc -fmodule-map-file=Sources/CLibXML2/module.modulemap \
  -Xcc -fmodule-map-file=Sources/CZlib/module.modulemap \
  Fuzz/FuzzReaders.swift $objects -lxml2 -lz -o "$scratch/fuzz-readers"
mkdir -p Fuzz/corpus Fuzz/crashes
# Known leaks inside Foundation, not dynsync: see the file.
export LSAN_OPTIONS="suppressions=$PWD/Scripts/lsan-suppressions.txt:print_suppressions=0"
cp -n Fuzz/seeds/* Fuzz/corpus/ 2>/dev/null || true
"$scratch/fuzz-readers" Fuzz/corpus -max_total_time="$seconds" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
  -artifact_prefix=Fuzz/crashes/ -print_final_stats=1
