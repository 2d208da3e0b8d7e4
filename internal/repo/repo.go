// Package repo finds the wasicert repository a binary was built from: the
// one way tests, go run programs and discovery's last fallback find it.
package repo

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"sync"
)

// Root is the directory of the wasicert module this file was compiled from,
// when it still holds a go.mod of module github.com/wasicert/wasicert. It
// does not depend on the working directory: go test, go run and make find
// the checkout they build from; a binary built with -trimpath, or from a
// module download, finds none.
func Root() (string, bool) {
	once.Do(func() {
		_, file, _, ok := runtime.Caller(0)
		if !ok || !filepath.IsAbs(file) {
			return
		}
		d := filepath.Dir(filepath.Dir(filepath.Dir(file))) // internal/repo/repo.go
		b, err := os.ReadFile(filepath.Join(d, "go.mod"))
		if err == nil && bytes.Contains(b, []byte("module github.com/wasicert/wasicert\n")) {
			root = d
		}
	})
	return root, root != ""
}

var (
	once sync.Once
	root string
)
