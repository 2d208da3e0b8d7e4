package main

import (
	"flag"
	"path/filepath"
	"strings"

	"github.com/wasicert/wasicert/runners/cli"
)

// runtimeConfigs are the user's command-template files (--runtime-config),
// each registering one more runtime by name.
var runtimeConfigs stringList

type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

func addRuntimeConfigFlag(fs *flag.FlagSet) {
	fs.Var(&runtimeConfigs, "runtime-config", "register the runtime described by this command-template `FILE` (repeatable; see runtimes/*.yaml)")
}

// loadRuntimeConfigs registers every --runtime-config file; a bad file is
// a one-line usage error.
func loadRuntimeConfigs() error {
	for _, f := range runtimeConfigs {
		if _, err := cli.RegisterFile(f); err != nil {
			return usageError{err.Error()}
		}
	}
	return nil
}

// runtimeConfigArgs passes the same files on to a child wasicert.
func runtimeConfigArgs() []string {
	var out []string
	for _, f := range runtimeConfigs {
		abs, err := filepath.Abs(f)
		if err != nil {
			abs = f
		}
		out = append(out, "--runtime-config", abs)
	}
	return out
}
