#!/usr/bin/env bash
# Checks that every command's --help reads as prose: a line may end in a backslash only where it
# shows a shell command continued on the next line (an example starting with "dynsync").
set -euo pipefail
cd "$(dirname "$0")/.."
binary="${1:-.build/debug/dynsync}"
status=0
for command in "" diff sync status history inspect generate fixtures; do
  # shellcheck disable=SC2086
  help="$("$binary" $command --help)"
  stray="$(printf '%s\n' "$help" | grep -E '\\$' | grep -vE '^ *dynsync ' || true)"
  if [ -n "$stray" ]; then
    echo "dynsync $command --help: a line ends in a backslash that is not a shell continuation:" >&2
    printf '%s\n' "$stray" >&2
    status=1
  fi
done
exit "$status"
