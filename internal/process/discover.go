package process

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/wasicert/wasicert/internal/repo"
)

// Discovery: where wasicert finds the programs it runs (the wazero CLI, bun,
// the worker executables) and keeps its compile caches. The working
// directory plays no part, so an installed wasicert behaves the same from
// any directory. Each lookup tries, in order:
//
//  1. what the user named: a runtime's own variable ($WASICERT_BIN_<NAME>,
//     $WASICERT_BUN, $WASICERT_NODE) is used alone; otherwise
//     $WASICERT_TOOLS_DIR for tools, $WASICERT_WORKER_DIR for workers,
//     $WASICERT_CACHE_DIR for caches (wasicert's --tools-dir and
//     --worker-dir flags set the first two);
//  2. the directory of the running wasicert: a worker or a tool executable
//     next to it (go install, or make build, puts the workers there);
//  3. the XDG cache, $XDG_CACHE_HOME/wasicert or ~/.cache/wasicert: tools/
//     holds tools (make -f ci/runtimes/runtimes.mk runtimes
//     WASICERT_TOOLS=~/.cache/wasicert/tools), bin/ workers, and the
//     compile caches are kept here;
//  4. the repository the binary was built from (repo.Root), for go test and
//     make: <repo>/.tools and <repo>/bin;
//  5. PATH.
//
// A tools directory has the layout runtimes.mk installs: bin/wazero,
// bun/node_modules/...

// ToolsDirs lists the tools directories, in the order they are tried:
// $WASICERT_TOOLS_DIR, <XDG cache>/wasicert/tools, <repo>/.tools.
func ToolsDirs() []string {
	var dirs []string
	if d := os.Getenv("WASICERT_TOOLS_DIR"); d != "" {
		dirs = append(dirs, d)
	}
	if c, err := os.UserCacheDir(); err == nil {
		dirs = append(dirs, filepath.Join(c, "wasicert", "tools"))
	}
	if r, ok := repo.Root(); ok {
		dirs = append(dirs, filepath.Join(r, ".tools"))
	}
	return dirs
}

// WorkerDirs lists where worker executables are looked for, in order,
// before PATH: $WASICERT_WORKER_DIR, the running binary's directory,
// <XDG cache>/wasicert/bin, <repo>/bin (where runtimes.mk builds them).
func WorkerDirs() []string {
	var dirs []string
	if d := os.Getenv("WASICERT_WORKER_DIR"); d != "" {
		dirs = append(dirs, d)
	}
	if d := exeDir(); d != "" {
		dirs = append(dirs, d)
	}
	if c, err := os.UserCacheDir(); err == nil {
		dirs = append(dirs, filepath.Join(c, "wasicert", "bin"))
	}
	if r, ok := repo.Root(); ok {
		dirs = append(dirs, filepath.Join(r, "bin"))
	}
	return dirs
}

// FindTool resolves a tool: under $WASICERT_TOOLS_DIR at each of rel
// (paths in a tools directory, e.g. "bin/wazero"), then name next to the
// running binary, then under the other ToolsDirs, then name on PATH. The
// first executable found wins; one that is there but cannot run is
// "unusable" when nothing after it is found either.
func FindTool(name string, rel ...string) (string, error) {
	var cands []string
	tools := ToolsDirs()
	under := func(dir string) {
		for _, r := range rel {
			cands = append(cands, filepath.Join(dir, r))
		}
	}
	if os.Getenv("WASICERT_TOOLS_DIR") != "" {
		under(tools[0])
		tools = tools[1:]
	}
	if d := exeDir(); d != "" {
		cands = append(cands, filepath.Join(d, name))
	}
	for _, d := range tools {
		under(d)
	}
	return first(cands, name, name, "install it: make -f ci/runtimes/runtimes.mk runtimes, or set WASICERT_TOOLS_DIR")
}

// FindWorker resolves a worker executable: in WorkerDirs, then PATH.
func FindWorker(name string) (string, error) {
	var cands []string
	for _, d := range WorkerDirs() {
		cands = append(cands, filepath.Join(d, name))
	}
	return first(cands, name, "worker "+name, "build it: make -f ci/runtimes/runtimes.mk workers, or set WASICERT_WORKER_DIR")
}

// first returns the first usable candidate path, else name on PATH. label
// names the program in the error, hint says how to get it.
func first(cands []string, name, label, hint string) (string, error) {
	var firstBad error
	for _, c := range cands {
		p, err := Find(c)
		if err == nil {
			return p, nil
		}
		if errors.Is(err, ErrUnusable) && firstBad == nil {
			firstBad = err
		}
	}
	if p, err := Find(name); err == nil {
		return p, nil
	} else if errors.Is(err, ErrUnusable) && firstBad == nil {
		firstBad = err
	}
	if firstBad != nil {
		return "", firstBad
	}
	return "", NotInstalled("%s not found in %s or on PATH (%s)", label, strings.Join(cands, ", "), hint)
}

// CacheDir returns (and creates) a compile cache directory for one runtime:
// $WASICERT_CACHE_DIR/<runtime>, else <XDG cache>/wasicert/<runtime>, else
// <temp dir>/wasicert-cache-<uid>/<runtime>. The cache is never granted to
// a guest.
func CacheDir(runtime string) (string, error) {
	var bases []string
	if d := os.Getenv("WASICERT_CACHE_DIR"); d != "" {
		bases = []string{d}
	} else {
		if c, err := os.UserCacheDir(); err == nil {
			bases = append(bases, filepath.Join(c, "wasicert"))
		}
		bases = append(bases, filepath.Join(os.TempDir(), fmt.Sprintf("wasicert-cache-%d", os.Getuid())))
	}
	var err error
	for _, b := range bases {
		d := filepath.Join(b, runtime)
		if err = os.MkdirAll(d, 0o755); err == nil {
			return d, nil
		}
	}
	return "", err
}

// exeDir is the running binary's directory, symlinks resolved; "" when
// unknown.
func exeDir() string {
	exe, err := os.Executable()
	if err != nil {
		return ""
	}
	if r, err := filepath.EvalSymlinks(exe); err == nil {
		exe = r
	}
	return filepath.Dir(exe)
}
