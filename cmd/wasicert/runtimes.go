package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/wasicert/wasicert/runners"
)

// runtimeLine is one line of `wasicert runtimes --json`.
type runtimeLine struct {
	Name     string   `json:"name"`
	Status   string   `json:"status"` // installed | not installed | unusable
	Version  string   `json:"version,omitempty"`
	Features []string `json:"features,omitempty"`
	Reason   string   `json:"reason,omitempty"`
}

// probeRuntime opens one registered runtime and says whether it can run.
func probeRuntime(name string) (runtimeLine, runners.Runner) {
	r, err := runners.Open(name)
	switch {
	case err == nil:
		line := runtimeLine{Name: name, Status: "installed", Version: r.Version()}
		for _, f := range r.Features() {
			line.Features = append(line.Features, string(f))
		}
		return line, r
	case errors.Is(err, runners.ErrNotInstalled):
		return runtimeLine{Name: name, Status: "not installed", Reason: err.Error()}, nil
	default:
		return runtimeLine{Name: name, Status: "unusable", Reason: err.Error()}, nil
	}
}

func cmdRuntimes(args []string, stdout io.Writer) error {
	fs := newFlags("runtimes")
	asJSON := fs.Bool("json", false, "print one JSON object per runtime")
	runtimeConfigs := addRuntimeFlags(fs)
	if help, err := parse(fs, args, stdout); help || err != nil {
		return err
	}
	if err := runtimeConfigs.load(); err != nil {
		return err
	}
	enc := json.NewEncoder(stdout)
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	if !*asJSON {
		fmt.Fprintln(tw, "RUNTIME\tSTATUS\tVERSION\tFEATURES / REASON")
	}
	for _, name := range runners.Names() {
		line, _ := probeRuntime(name)
		if *asJSON {
			if err := enc.Encode(line); err != nil {
				return err
			}
			continue
		}
		detail := strings.Join(line.Features, ",")
		if line.Reason != "" {
			detail = line.Reason
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", line.Name, line.Status, orDash(line.Version), detail)
	}
	return tw.Flush()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
