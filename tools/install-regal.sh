#!/usr/bin/env bash
# Try to build the Regal linter (pinned in tools/regal.version) into .tools/bin/regal.
# Exits 0 either way: make lint reports clearly whether Regal ran or the fallback was used.
set -uo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
want="$(tr -d '[:space:]' < "$root/tools/regal.version")"
bin="$root/.tools/bin"
if [ -x "$bin/regal" ] && "$bin/regal" version 2>/dev/null | grep -q "${want#v}"; then
  exit 0
fi
mkdir -p "$bin"
if ! GOBIN="$bin" go install "github.com/open-policy-agent/regal@$want" > "$root/.tools/regal-install.log" 2>&1; then
  echo "regal $want could not be built: $(tail -n 2 "$root/.tools/regal-install.log" | tr '\n' ' ')" >&2
fi
exit 0
