//go:build tools

// Package regalbuild pins the Regal linter (tools/regal.version) as a Go module dependency so that
// tools/install-regal.sh builds it in module mode from go.mod/go.sum (no `go install module@version`).
package regalbuild

import (
	_ "github.com/open-policy-agent/regal"
)
