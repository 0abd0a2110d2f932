#!/usr/bin/env bash
# Build the pinned OPA from its Go module into the project tools folder (.tools/bin/opa).
# Idempotent: when .tools/bin/opa already reports the pinned version, nothing is rebuilt.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
want="$(tr -d '[:space:]' < "$root/tools/opa.version")"
bin="$root/.tools/bin"
opa="$bin/opa"
if [ -x "$opa" ]; then
  have="v$("$opa" version 2>/dev/null | sed -n 's/^Version: //p')"
  if [ "$have" = "$want" ]; then
    echo "opa $want already installed at .tools/bin/opa"
    exit 0
  fi
  echo "opa at .tools/bin/opa is $have, want $want: rebuilding"
fi
command -v go >/dev/null || { echo "error: Go is required to build OPA ($want); install Go >= 1.24" >&2; exit 1; }
mkdir -p "$bin"
echo "building opa $want with go install (takes a minute or two the first time)"
GOBIN="$bin" GOFLAGS="${GOFLAGS:-} -trimpath" go install "github.com/open-policy-agent/opa@$want"
"$opa" version | sed -n 1p
