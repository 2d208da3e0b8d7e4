package main

import (
	"flag"
	"path/filepath"
	"strings"

	"github.com/wasicert/wasicert/runners/cli"
)

// runtimeConfigs are the user's command-template files (--runtime-config),
// each registering one more runtime by name.
type runtimeConfigs []string

func (s *runtimeConfigs) String() string     { return strings.Join(*s, ",") }
func (s *runtimeConfigs) Set(v string) error { *s = append(*s, v); return nil }

// addRuntimeConfigFlag defines --runtime-config on fs and returns the files
// it collects.
func addRuntimeConfigFlag(fs *flag.FlagSet) *runtimeConfigs {
	files := &runtimeConfigs{}
	fs.Var(files, "runtime-config", "register the runtime described by this command-template `FILE` (repeatable; see runners/cli/templates/*.yaml)")
	return files
}

// load registers every file; a bad file is a one-line usage error.
func (s *runtimeConfigs) load() error {
	for _, f := range *s {
		if _, err := cli.RegisterFile(f); err != nil {
			return usageError{err.Error()}
		}
	}
	return nil
}

// args passes the same files on to a child wasicert.
func (s *runtimeConfigs) args() []string {
	var out []string
	for _, f := range *s {
		abs, err := filepath.Abs(f)
		if err != nil {
			abs = f
		}
		out = append(out, "--runtime-config", abs)
	}
	return out
}
