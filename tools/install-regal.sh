#!/usr/bin/env bash
# Build the pinned Regal linter (tools/regal.version) into .tools/bin/regal, in Go module mode.
#
# The module tools/regal/ (go.mod + go.sum + tools.go) requires github.com/open-policy-agent/regal at the
# pinned version, so the build needs only `go mod download` through the module proxy and a plain
# `go build` (no `go install module@version`, whose `@v/list` look-up a restricted proxy may refuse).
# Idempotent: when .tools/bin/regal already reports the pinned version nothing is rebuilt.
# Exit 0 when Regal is ready; otherwise exit 1 and say why (the full log is .tools/regal-install.log).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
want="$(tr -d '[:space:]' < "$root/tools/regal.version")"
mod="$root/tools/regal"
bin="$root/.tools/bin"
regal="$bin/regal"
log="$root/.tools/regal-install.log"
mkdir -p "$bin"

fail() { echo "regal $want could not be built: $*" | tee -a "$log" >&2; exit 1; }

pinned="$(sed -n 's|^[[:space:]]*github.com/open-policy-agent/regal \(v[^ ]*\).*|\1|p' "$mod/go.mod" | head -n 1)"
[ "$pinned" = "$want" ] || fail "tools/regal/go.mod requires regal ${pinned:-<none>} but tools/regal.version says $want (update both together)"

if [ -x "$regal" ]; then
  have="$("$regal" version 2>/dev/null | sed -n 's/^Version: *//p')"
  if [ "$have" = "$want" ]; then
    echo "regal $want already installed at .tools/bin/regal"
    exit 0
  fi
  echo "regal at .tools/bin/regal is ${have:-unknown}, want $want: rebuilding"
fi

: > "$log"
command -v go >/dev/null || fail "Go is not installed (Go >= 1.25 is needed to build Regal)"
echo "building regal $want in module mode from tools/regal/go.mod (a few minutes the first time)"
cd "$mod"
export GOFLAGS="-mod=readonly -buildvcs=false"
go mod download >> "$log" 2>&1 \
  || fail "go mod download failed (module proxy unreachable?): $(tail -n 2 "$log" | tr '\n' ' ')"
go build -trimpath -o "$regal.tmp" \
  -ldflags "-X github.com/open-policy-agent/regal/pkg/version.Version=$want" \
  github.com/open-policy-agent/regal >> "$log" 2>&1 \
  || fail "go build failed: $(tail -n 2 "$log" | tr '\n' ' ')"
mv "$regal.tmp" "$regal"
"$regal" version | sed -n 1p
