package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/wasicert/wasicert/runners/cli"
)

// runtimeFlags are the flags every command that opens runtimes takes: the
// user's command-template files (--runtime-config), each registering one
// more runtime by name, and where to find runtimes first (--tools-dir,
// --worker-dir; README.md, "Where wasicert finds runtimes").
type runtimeFlags struct {
	configs   runtimeConfigs
	toolsDir  string
	workerDir string
	// criEndpoint and criHandler choose the node of the cri runner.
	criEndpoint, criHandler string
}

type runtimeConfigs []string

func (s *runtimeConfigs) String() string     { return strings.Join(*s, ",") }
func (s *runtimeConfigs) Set(v string) error { *s = append(*s, v); return nil }

// addRuntimeFlags defines --runtime-config, --tools-dir and --worker-dir on fs.
func addRuntimeFlags(fs *flag.FlagSet) *runtimeFlags {
	f := &runtimeFlags{}
	fs.Var(&f.configs, "runtime-config", "register the runtime described by this command-template `FILE` (repeatable; see runners/cli/templates/*.yaml)")
	fs.StringVar(&f.toolsDir, "tools-dir", "", "look for runtimes in this tools `DIR` (bin/wazero, bun/...) first; sets WASICERT_TOOLS_DIR")
	fs.StringVar(&f.workerDir, "worker-dir", "", "look for the wasicert-worker-* executables in `DIR` first; sets WASICERT_WORKER_DIR")
	fs.StringVar(&f.criEndpoint, "cri-endpoint", "", "runtime cri: the CRI socket, `unix:///PATH` (e.g. unix:///run/containerd/containerd.sock); sets WASICERT_CRI_ENDPOINT")
	fs.StringVar(&f.criHandler, "runtime-handler", "", "runtime cri: the runtime `HANDLER` of the pods, as a RuntimeClass names it (e.g. wazero); sets WASICERT_CRI_RUNTIME_HANDLER")
	return f
}

// load applies --tools-dir and --worker-dir (as the environment variables
// they stand for, so that a child wasicert sees them too) and registers
// every --runtime-config file; a bad file or directory is a one-line usage
// error.
func (f *runtimeFlags) load() error {
	for _, d := range []struct{ flag, env, dir string }{
		{"--tools-dir", "WASICERT_TOOLS_DIR", f.toolsDir},
		{"--worker-dir", "WASICERT_WORKER_DIR", f.workerDir},
	} {
		if d.dir == "" {
			continue
		}
		abs, err := filepath.Abs(d.dir)
		if err == nil {
			var st os.FileInfo
			if st, err = os.Stat(abs); err == nil && !st.IsDir() {
				err = fmt.Errorf("not a directory")
			}
		}
		if err != nil {
			return usagef("%s %s: %v", d.flag, d.dir, err)
		}
		os.Setenv(d.env, abs)
	}
	for _, e := range []struct{ env, val string }{
		{"WASICERT_CRI_ENDPOINT", f.criEndpoint},
		{"WASICERT_CRI_RUNTIME_HANDLER", f.criHandler},
	} {
		if e.val != "" {
			os.Setenv(e.env, e.val)
		}
	}
	for _, file := range f.configs {
		if _, err := cli.RegisterFile(file); err != nil {
			return usageError{err.Error()}
		}
	}
	return nil
}

// args passes the same template files on to a child wasicert (the
// directories travel in its environment).
func (f *runtimeFlags) args() []string {
	var out []string
	for _, file := range f.configs {
		abs, err := filepath.Abs(file)
		if err != nil {
			abs = file
		}
		out = append(out, "--runtime-config", abs)
	}
	return out
}
