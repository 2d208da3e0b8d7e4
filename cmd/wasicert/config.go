package main

import (
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/wasicert/wasicert/runners/cli"
	"github.com/wasicert/wasicert/runners/docker"
)

// runtimeFlags are the flags every command that opens runtimes takes: the
// user's command-template files (--runtime-config), each registering one
// more runtime by name, and where to find runtimes first (--tools-dir,
// --worker-dir; README.md, "Where wasicert finds runtimes"), and which
// Docker engine and runtime the docker runner uses (--docker-host,
// --docker-runtime).
type runtimeFlags struct {
	configs       runtimeConfigs
	toolsDir      string
	workerDir     string
	dockerHost    string
	dockerRuntime string
	// criEndpoint and criHandler choose the node of the cri runner.
	criEndpoint, criHandler string
}

type runtimeConfigs []string

func (s *runtimeConfigs) String() string     { return strings.Join(*s, ",") }
func (s *runtimeConfigs) Set(v string) error { *s = append(*s, v); return nil }

// addRuntimeFlags defines --runtime-config, --tools-dir, --worker-dir,
// --docker-host and --docker-runtime on fs.
func addRuntimeFlags(fs *flag.FlagSet) *runtimeFlags {
	f := &runtimeFlags{}
	fs.Var(&f.configs, "runtime-config", "register the runtime described by this command-template `FILE` (repeatable; see runners/cli/templates/*.yaml)")
	fs.StringVar(&f.toolsDir, "tools-dir", "", "look for runtimes in this tools `DIR` (bin/wazero, bun/...) first; sets WASICERT_TOOLS_DIR")
	fs.StringVar(&f.workerDir, "worker-dir", "", "look for the wasicert-worker-* executables in `DIR` first; sets WASICERT_WORKER_DIR")
	fs.StringVar(&f.dockerHost, "docker-host", "", "the Docker engine the docker runner uses, unix://`SOCKET` or tcp://HOST:PORT; sets WASICERT_DOCKER_HOST")
	fs.StringVar(&f.dockerRuntime, "docker-runtime", "", "the runtime the docker runner names in docker run --runtime (default io.containerd.wazero.v1); sets WASICERT_DOCKER_RUNTIME")
	fs.StringVar(&f.criEndpoint, "cri-endpoint", "", "runtime cri: the CRI socket, `unix:///PATH` (e.g. unix:///run/containerd/containerd.sock); sets WASICERT_CRI_ENDPOINT")
	fs.StringVar(&f.criHandler, "runtime-handler", "", "runtime cri: the runtime `HANDLER` of the pods, as a RuntimeClass names it (e.g. wazero); sets WASICERT_CRI_RUNTIME_HANDLER")
	return f
}

// load applies --tools-dir, --worker-dir, --docker-host and
// --docker-runtime (as the environment variables they stand for, so that a
// child wasicert sees them too) and registers every --runtime-config file; a
// bad file, directory, engine address or runtime name is a one-line usage
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
	if f.dockerHost != "" {
		if err := checkDockerHost(f.dockerHost); err != nil {
			return usagef("--docker-host %s: %v", f.dockerHost, err)
		}
		os.Setenv(docker.EnvHost, f.dockerHost)
	}
	if f.dockerRuntime != "" {
		if !dockerRuntimeName.MatchString(f.dockerRuntime) {
			return usagef("--docker-runtime %q: want a runtime name as docker run --runtime takes it (io.containerd.wazero.v1, runc)", f.dockerRuntime)
		}
		os.Setenv(docker.EnvRuntime, f.dockerRuntime)
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

// dockerRuntimeName is a runtime name dockerd accepts: a configured
// runtime (runc) or a containerd runtime type (io.containerd.wazero.v1).
var dockerRuntimeName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)

// checkDockerHost accepts unix://PATH when PATH is a socket, and
// tcp://HOST:PORT.
func checkDockerHost(h string) error {
	switch {
	case strings.HasPrefix(h, "unix://"):
		sock := strings.TrimPrefix(h, "unix://")
		st, err := os.Stat(sock)
		if err != nil {
			return fmt.Errorf("no such socket (is dockerd running? ci/docker/start.sh starts one)")
		}
		if st.Mode()&os.ModeSocket == 0 {
			return fmt.Errorf("%s is not a socket", sock)
		}
		return nil
	case strings.HasPrefix(h, "tcp://"):
		if _, _, err := net.SplitHostPort(strings.TrimPrefix(h, "tcp://")); err != nil {
			return fmt.Errorf("want tcp://HOST:PORT: %v", err)
		}
		return nil
	}
	return fmt.Errorf("want unix://SOCKET or tcp://HOST:PORT")
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
