#!/usr/bin/env bash
# dynsync's benchmark: generates orgs of the given sizes, then times `diff` of two full
# snapshots (1% creates, 5% updates, 1% deletes) and `sync` (initial, then incremental: from the
# next full export and, for Web API JSON, from its change-tracking delta, and then from a second
# delta over the overlays the first left, as the day after: `sync-delta-next`), and prints
# records/s, MB/s of input, wall time and peak RSS per size, how each step's time scales with size
# and, when Web API JSON is among the formats, each XML format's diff time against it.
#
# The diff runs right after the org is generated (`diff`: part of it may still be read from disk),
# then REPEATS times more with the files in the page cache (`diff-cached`, the median); scaling and
# the formats are compared on the latter.
#
#   bash Benchmarks/run.sh                      # 100k, 1M and 3M records, release build
#   SIZES="100000" FORMATS="webapi cmt" bash Benchmarks/run.sh
#   DYNSYNC_BIN=path/to/dynsync SIZES=2000 bash Benchmarks/run.sh   # an existing binary (smoke run)
#
# Needs python3 (for getrusage) and free disk of about 5.5 GB per million records of the largest size (two
# exports, the change-tracking deltas, the workspace and the batches of its incremental copies; each size's files
# are removed before the next unless KEEP_BENCH_DATA is set, when every size and format needs its own room): the
# script checks it before it starts.
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=(${SIZES:-100000 1000000 3000000})
formats=(${FORMATS:-webapi})
work="${BENCH_DIR:-out/bench}"

# Refuses to start without the room the run needs: a disk filled halfway through leaves a workspace half written and a
# run that failed for want of room, not for anything dynsync did.
check_free_disk() {
  local needed=0 size available
  for size in "${sizes[@]}"; do
    if [ -n "${KEEP_BENCH_DATA:-}" ]; then
      needed=$((needed + size * ${#formats[@]}))
    elif ((size > needed)); then
      needed=$size
    fi
  done
  needed=$((needed * 11 / 2000)) # 5.5 GB per million records, in MB
  mkdir -p "$work"
  available=$(df -Pm "$work" | awk 'NR == 2 { print $4 }')
  if ((available < needed)); then
    echo "Benchmarks/run.sh: $work has ${available} MB free; these sizes need about ${needed} MB" >&2
    exit 1
  fi
}
check_free_disk
if [ -z "${DYNSYNC_BIN:-}" ]; then
  bash Scripts/setup.sh
  swift build -c release --product dynsync >&2
  DYNSYNC_BIN="$(swift build -c release --show-bin-path)/dynsync"
fi

# Runs a command; prints "<seconds> <peak RSS in MB>" (exit status 1, "differences found", is fine).
# What earlier steps wrote is put on disk first (`sync`; the files stay in the page cache): an initial
# sync writes gigabytes, and the kernel writing them back during the next step held up its fsyncs.
measure() {
  sync
  python3 - "$@" <<'PY'
import resource, subprocess, sys, time
start = time.monotonic()
status = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode
elapsed = time.monotonic() - start
if status not in (0, 1):
    sys.exit("benchmark step failed (%d): %s" % (status, " ".join(sys.argv[1:])))
print("%.2f %d" % (elapsed, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024))
PY
}

megabytes() { du -sm "$1" | cut -f1; }

# Reads every file under the given folders, so that the step after starts with them in the page cache, as the
# targets are stated: a machine may drop files it has not read for a while (kernels with DAMON's `pageout` scheme
# reclaim cold pages on their own), and a run that finds its state gone reads it from disk, a figure of the disk.
read_into_cache() {
  find "$@" -type f -print0 | xargs -0 cat > /dev/null
}

# The incremental syncs run REPEATS times (3 unless set), each on a fresh copy of the workspace the
# initial sync left (a hard-linked copy: a batch never writes into the one before), its files and the
# export read into the page cache first (`read_into_cache`); the median is
# reported, and every run's time on a line of its own. A single run swings by a third with what the
# machine does meanwhile.
repeats=${REPEATS:-3}

# Prints "<median seconds> <largest peak RSS in MB> <each run's seconds...>" of a command run REPEATS times, each run
# after a step that readies it (the arguments before `--`).
measure_repeated() {
  local ready=() peak=0 times=() run seconds run_peak
  while [ "$1" != -- ]; do
    ready+=("$1")
    shift
  done
  shift
  for ((run = 1; run <= repeats; run++)); do
    "${ready[@]}"
    read -r seconds run_peak < <(measure "$@")
    times+=("$seconds")
    if ((run_peak > peak)); then peak=$run_peak; fi
  done
  python3 -c "import statistics, sys; print('%.2f %s %s' % (statistics.median(map(float, sys.argv[2:])), sys.argv[1], ' '.join(sys.argv[2:])))" \
    "$peak" "${times[@]}"
}

# A fresh copy of the workspace $1 at $2, its files and those of the export $3 read into the page cache.
fresh_copy() {
  rm -rf "$2"
  cp -al "$1" "$2"
  read_into_cache "$2" "$3"
}

# `measure_repeated` of `sync` of the export $3 into copies of the workspace $1 made at $2 (the last one is left
# there).
measure_from_copies() {
  measure_repeated fresh_copy "$1" "$2" "$3" -- "$DYNSYNC_BIN" sync --quiet --workspace "$2" "$3"
}

printf '%-8s %10s %-18s %9s %12s %9s %9s\n' format records step wall_s records/s MB/s peak_MB
declare -A diff_time step_time
for format in "${formats[@]}"; do
  for size in "${sizes[@]}"; do
    dir="$work/$format-$size"
    rm -rf "$dir"
    "$DYNSYNC_BIN" generate --records "$size" --seed 1 --format "$format" "$dir/previous" > /dev/null
    "$DYNSYNC_BIN" generate --records "$size" --seed 1 --format "$format" --mutate "$dir/current" > /dev/null
    if [ "$format" = webapi ]; then
      "$DYNSYNC_BIN" generate --records "$size" --seed 1 --mutate --delta "$dir/changes" > /dev/null
    fi
    input_mb=$(( $(megabytes "$dir/previous") + $(megabytes "$dir/current") ))
    rows=$(( size * 2 ))
    report() {
      local step=$1 seconds=$2 peak=$3 records=$4 mb=$5
      printf '%-8s %10d %-18s %9.2f %12.0f %9.1f %9d\n' "$format" "$size" "$step" "$seconds" \
        "$(python3 -c "print($records / max($seconds, 0.001))")" "$(python3 -c "print($mb / max($seconds, 0.001))")" "$peak"
      step_time["$format-$size-$step"]=$seconds
    }
    read -r seconds peak < <(measure "$DYNSYNC_BIN" diff --quiet --previous "$dir/previous" --current "$dir/current" --out "$dir/batch")
    report diff "$seconds" "$peak" "$rows" "$input_mb"
    read -r seconds peak runs < <(measure_repeated rm -rf "$dir/batch" -- \
      "$DYNSYNC_BIN" diff --quiet --previous "$dir/previous" --current "$dir/current" --out "$dir/batch")
    report diff-cached "$seconds" "$peak" "$rows" "$input_mb"
    echo "diff-cached runs ($format, $size): $runs"
    diff_time["$format-$size"]=$seconds
    read -r seconds peak < <(measure "$DYNSYNC_BIN" sync --quiet --workspace "$dir/ws" "$dir/previous")
    report sync-initial "$seconds" "$peak" "$size" "$(megabytes "$dir/previous")"
    read -r seconds peak runs < <(measure_from_copies "$dir/ws" "$dir/ws-incremental" "$dir/current")
    report sync-incremental "$seconds" "$peak" "$size" "$(megabytes "$dir/current")"
    echo "sync-incremental runs ($format, $size): $runs"
    if [ "$format" = webapi ]; then
      read -r seconds peak runs < <(measure_from_copies "$dir/ws" "$dir/ws-delta" "$dir/changes")
      report sync-delta "$seconds" "$peak" "$size" "$(megabytes "$dir/changes")"
      echo "sync-delta runs ($format, $size): $runs"
      # The generator writes one generation of changes: the second delta sends the rows the first updated again,
      # unchanged, and 1% more updated. The run reads and writes the overlays the first left, as later runs do.
      "$DYNSYNC_BIN" generate --records "$size" --seed 1 --mutate --delta --updates 0.06 "$dir/changes-next" \
        > /dev/null
      read_into_cache "$dir/ws-delta" "$dir/changes-next"
      read -r seconds peak < <(measure "$DYNSYNC_BIN" sync --quiet --workspace "$dir/ws-delta" "$dir/changes-next")
      report sync-delta-next "$seconds" "$peak" "$size" "$(megabytes "$dir/changes-next")"
    fi
    [ -n "${KEEP_BENCH_DATA:-}" ] || rm -rf "$dir"
  done
done

# Scaling: each size's time against the first size's, per format and step (the diff's from the cached run).
for format in "${formats[@]}"; do
  base=${sizes[0]}
  for size in "${sizes[@]:1}"; do
    python3 -c "print('scaling %s: diff of %d records takes %.2fx the time of %d (%.2fx the records)' % ('$format', $size, ${diff_time[$format-$size]} / max(${diff_time[$format-$base]}, 0.001), $base, $size / $base))"
    for step in sync-initial sync-incremental sync-delta; do
      [ -n "${step_time[$format-$size-$step]:-}" ] || continue
      python3 -c "print('scaling %s: %s of %d records takes %.2fx the time of %d' % ('$format', '$step', $size, ${step_time[$format-$size-$step]} / max(${step_time[$format-$base-$step]}, 0.001), $base))"
    done
  done
done

# Each XML format's diff against Web API JSON's, size by size.
for format in "${formats[@]}"; do
  [ "$format" != webapi ] && [ -n "${diff_time[webapi-${sizes[0]}]:-}" ] || continue
  for size in "${sizes[@]}"; do
    python3 -c "print('%s against webapi: diff of %d records takes %.2fx the time' % ('$format', $size, ${diff_time[$format-$size]} / max(${diff_time[webapi-$size]}, 0.001)))"
  done
done
