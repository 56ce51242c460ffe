#!/usr/bin/env bash
# dynsync's benchmark: generates orgs of the given sizes, then times `diff` of two full
# snapshots (1% creates, 5% updates, 1% deletes) and `sync` (initial, then incremental: from the
# next full export and, for Web API JSON, from its change-tracking delta, and then from a second
# delta over the overlays the first left, as the day after: `sync-delta-next`), and prints
# records/s, MB/s of input, wall time, CPU time (user and system, all cores) and peak RSS per size, how
# each step's time scales with size, when Web API JSON is among the formats, each XML format's diff
# time against it, and at last each target of docs/performance.md the sizes and formats run allow,
# met or missed.
#
# The diff runs right after the org is generated (`diff`: part of it may still be read from disk),
# then REPEATS times more with the files in the page cache (`diff-cached`, the median); scaling and
# the formats are compared on the latter.
#
#   bash Benchmarks/run.sh                      # 100k, 1M and 3M records, release build
#   SIZES="100000" FORMATS="webapi cmt" bash Benchmarks/run.sh
#   DYNSYNC_BIN=path/to/dynsync SIZES=2000 bash Benchmarks/run.sh   # an existing binary (smoke run)
#   SIZES="1000 2000" TARGET_SIZE=2000 bash Benchmarks/run.sh          # the targets' lines at another size
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

# Runs a command; prints "<seconds> <peak RSS in MB> <CPU seconds>" (exit status 1, "differences found", is fine).
# CPU time beside wall time tells a slow machine from a slow run: on a shared machine both grow on a busy spell, but
# a step whose CPU time is far below twice its wall time left a core idle.
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
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print("%.2f %d %.2f" % (elapsed, usage.ru_maxrss // 1024, usage.ru_utime + usage.ru_stime))
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

# Prints "<median seconds> <largest peak RSS in MB> <median CPU seconds> <each run's seconds...>" of a command run
# REPEATS times, each run after a step that readies it (the arguments before `--`).
measure_repeated() {
  local ready=() peak=0 times=() cpus=() run seconds run_peak cpu
  while [ "$1" != -- ]; do
    ready+=("$1")
    shift
  done
  shift
  for ((run = 1; run <= repeats; run++)); do
    "${ready[@]}"
    read -r seconds run_peak cpu < <(measure "$@")
    times+=("$seconds")
    cpus+=("$cpu")
    if ((run_peak > peak)); then peak=$run_peak; fi
  done
  python3 -c "import statistics, sys; n = (len(sys.argv) - 2) // 2; t = sys.argv[2:2 + n]; c = sys.argv[2 + n:]
print('%.2f %s %.2f %s' % (statistics.median(map(float, t)), sys.argv[1], statistics.median(map(float, c)), ' '.join(t)))" \
    "$peak" "${times[@]}" "${cpus[@]}"
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

printf '%-8s %10s %-18s %9s %8s %12s %9s %9s\n' format records step wall_s cpu_s records/s MB/s peak_MB
declare -A diff_time step_time step_peak
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
      local step=$1 seconds=$2 peak=$3 cpu=$4 records=$5 mb=$6
      printf '%-8s %10d %-18s %9.2f %8.2f %12.0f %9.1f %9d\n' "$format" "$size" "$step" "$seconds" "$cpu" \
        "$(python3 -c "print($records / max($seconds, 0.001))")" "$(python3 -c "print($mb / max($seconds, 0.001))")" "$peak"
      step_time["$format-$size-$step"]=$seconds
      step_peak["$format-$size-$step"]=$peak
    }
    read -r seconds peak cpu < <(measure "$DYNSYNC_BIN" diff --quiet --previous "$dir/previous" --current "$dir/current" --out "$dir/batch")
    report diff "$seconds" "$peak" "$cpu" "$rows" "$input_mb"
    read -r seconds peak cpu runs < <(measure_repeated rm -rf "$dir/batch" -- \
      "$DYNSYNC_BIN" diff --quiet --previous "$dir/previous" --current "$dir/current" --out "$dir/batch")
    report diff-cached "$seconds" "$peak" "$cpu" "$rows" "$input_mb"
    echo "diff-cached runs ($format, $size): $runs"
    diff_time["$format-$size"]=$seconds
    read -r seconds peak cpu < <(measure "$DYNSYNC_BIN" sync --quiet --workspace "$dir/ws" "$dir/previous")
    report sync-initial "$seconds" "$peak" "$cpu" "$size" "$(megabytes "$dir/previous")"
    read -r seconds peak cpu runs < <(measure_from_copies "$dir/ws" "$dir/ws-incremental" "$dir/current")
    report sync-incremental "$seconds" "$peak" "$cpu" "$size" "$(megabytes "$dir/current")"
    echo "sync-incremental runs ($format, $size): $runs"
    if [ "$format" = webapi ]; then
      read -r seconds peak cpu runs < <(measure_from_copies "$dir/ws" "$dir/ws-delta" "$dir/changes")
      report sync-delta "$seconds" "$peak" "$cpu" "$size" "$(megabytes "$dir/changes")"
      echo "sync-delta runs ($format, $size): $runs"
      # The generator writes one generation of changes: the second delta sends the rows the first updated again,
      # unchanged, and 1% more updated. The run reads and writes the overlays the first left, as later runs do.
      "$DYNSYNC_BIN" generate --records "$size" --seed 1 --mutate --delta --updates 0.06 "$dir/changes-next" \
        > /dev/null
      read_into_cache "$dir/ws-delta" "$dir/changes-next"
      read -r seconds peak cpu < <(measure "$DYNSYNC_BIN" sync --quiet --workspace "$dir/ws-delta" "$dir/changes-next")
      report sync-delta-next "$seconds" "$peak" "$cpu" "$size" "$(megabytes "$dir/changes-next")"
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

# The targets of docs/performance.md, each one the sizes and formats run allow: its figure, and whether it was met.
# Wall times are this run's, on this machine as busy as it was: a target missed on a busy spell may hold on a quiet
# one, so the run's cached `diff` heads them, to compare spells by. The targets are stated at 1M records
# (TARGET_SIZE; the 3M scaling is of three times it).
target_size=${TARGET_SIZE:-1000000}
target() {
  python3 -c "import sys; figure, limit = float(sys.argv[2]), float(sys.argv[3])
print('target %s: %s (limit %s) %s' % (sys.argv[1], sys.argv[4] % figure, sys.argv[4] % limit, 'met' if figure <= limit else 'missed'))" \
    "$@"
}
if [ -n "${step_time[webapi-$target_size-diff-cached]:-}" ]; then
  echo "targets at $target_size records of Web API JSON (this run's cached diff: ${step_time[webapi-$target_size-diff-cached]} s):"
  target "diff wall" "${step_time[webapi-$target_size-diff-cached]}" 5 "%.2f s"
  target "diff peak RSS" "${step_peak[webapi-$target_size-diff-cached]}" 300 "%d MB"
  for step in sync-incremental sync-delta; do
    target "$step wall" "${step_time[webapi-$target_size-$step]}" 4 "%.2f s"
  done
  if [ -n "${diff_time[webapi-$((target_size * 3))]:-}" ]; then
    target "diff of $((target_size * 3)) records against $target_size" \
      "$(python3 -c "print(${diff_time[webapi-$((target_size * 3))]} / ${diff_time[webapi-$target_size]})")" 3.3 "%.2fx"
  fi
  for format in fetchxml cmt; do
    [ -n "${diff_time[$format-$target_size]:-}" ] || continue
    target "$format diff against webapi" \
      "$(python3 -c "print(${diff_time[$format-$target_size]} / ${diff_time[webapi-$target_size]})")" 1.5 "%.2fx"
  done
fi
