// Tests of the GitHub Actions workflow users adopt (wasicert.yml here): that
// the lint `make workflow-lint` runs can fail, naming what is broken, and
// that the workflow names only runtimes and install targets that exist.
package github

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/wasicert/wasicert/runners"
	_ "github.com/wasicert/wasicert/runners/all"
)

const (
	workflowFile = "wasicert.yml"
	// The repository's own copy: GitHub runs no symlinked workflow.
	workflowCopy = "../../.github/workflows/wasicert.yml"
)

// actionlint finds the actionlint `make workflow-tools` installs (or one on
// PATH) and checks it is the pinned version; it skips the test when there is
// none, since `make test` installs it before running the tests.
func actionlint(t *testing.T) string {
	t.Helper()
	mk, err := os.ReadFile("workflow.mk")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^ACTIONLINT_VERSION\s*:=\s*(\S+)`).FindSubmatch(mk)
	if m == nil {
		t.Fatal("workflow.mk pins no ACTIONLINT_VERSION")
	}
	pinned := string(m[1])
	bin, err := filepath.Abs("../../.tools/bin/actionlint")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(bin); err != nil {
		if bin, err = exec.LookPath("actionlint"); err != nil {
			t.Skipf("actionlint is not installed (neither .tools/bin/actionlint nor on PATH): run `make workflow-tools` to install %s", pinned)
		}
	}
	out, err := exec.Command(bin, "-version").Output()
	if err != nil {
		t.Fatalf("%s -version: %v", bin, err)
	}
	if got, _, _ := strings.Cut(string(out), "\n"); got != pinned {
		t.Fatalf("%s is actionlint %s, not the pinned %s: run `make workflow-tools`", bin, got, pinned)
	}
	return bin
}

// lint runs actionlint as `make workflow-lint` does on workflow text written
// to a temp dir, and returns its exit status and output.
func lint(t *testing.T, bin string, text []byte) (int, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), ".github", "workflows")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, workflowFile)
	if err := os.WriteFile(file, text, 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"-no-color", "-oneline"}
	if sc, err := exec.LookPath("shellcheck"); err == nil {
		args = append(args, "-shellcheck="+sc)
	} else {
		args = append(args, "-shellcheck=")
	}
	cmd := exec.Command(bin, append(args, file)...)
	cmd.Dir = filepath.Dir(dir)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0, out.String()
	case errors.As(err, &exit):
		return exit.ExitCode(), out.String()
	default:
		t.Fatalf("running actionlint: %v", err)
		return 0, ""
	}
}

func readWorkflow(t *testing.T) []byte {
	t.Helper()
	text, err := os.ReadFile(workflowFile)
	if err != nil {
		t.Fatal(err)
	}
	return text
}

// TestActionlintFailsBrokenWorkflow is the negative control of `make
// workflow-lint`: the workflow passes, and each copy broken in one place
// fails (exit 1) with a message naming what is broken.
func TestActionlintFailsBrokenWorkflow(t *testing.T) {
	bin := actionlint(t)
	good := readWorkflow(t)
	if code, out := lint(t, bin, good); code != 0 {
		t.Fatalf("actionlint fails the workflow itself (exit %d):\n%s", code, out)
	}
	cases := []struct {
		name, old, new, want string
		shellcheck           bool
	}{
		{name: "unknown needs", old: "needs: [setup, native, qemu]", new: "needs: [setup, native, qemu-legs]", want: `"qemu-legs"`},
		{name: "undefined output in an expression", old: "${{ needs.setup.outputs.runtime-count }}", new: "${{ needs.setup.outputs.runtime-cuont }}", want: `"runtime-cuont"`},
		{name: "undefined matrix property", old: "${{ matrix.runner }}", new: "${{ matrix.runer }}", want: `"runer"`},
		{name: "unterminated expression", old: "${{ !cancelled() && needs.setup.result == 'success' }}", new: "${{ !cancelled() && needs.setup.result == 'success' }", want: "expression"},
		{name: "unknown runner label", old: "runner: [ubuntu-24.04, ubuntu-24.04-arm]", new: "runner: [ubuntu-24.04, ubuntu-24.04-arm64]", want: `"ubuntu-24.04-arm64"`},
		{name: "unknown action input", old: "if-no-files-found: error", new: "if-no-file-found: error", want: `"if-no-file-found"`},
		{name: "unquoted variable (shellcheck)", old: `echo "SRC_DIR=$src" >> "$GITHUB_ENV"`, new: `echo "SRC_DIR=$src" >> $GITHUB_ENV`, want: "SC2086", shellcheck: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.shellcheck {
				if _, err := exec.LookPath("shellcheck"); err != nil {
					t.Skip("shellcheck is not on PATH (make workflow-tools installs Debian's)")
				}
			}
			if !bytes.Contains(good, []byte(c.old)) {
				t.Fatalf("the workflow no longer contains %q: update this case", c.old)
			}
			bad := bytes.Replace(good, []byte(c.old), []byte(c.new), 1)
			code, out := lint(t, bin, bad)
			if code != 1 {
				t.Fatalf("actionlint exit %d on the broken copy, want 1:\n%s", code, out)
			}
			if !strings.Contains(out, c.want) {
				t.Fatalf("actionlint failed without naming %s:\n%s", c.want, out)
			}
			t.Logf("actionlint: %s", strings.TrimSpace(out))
		})
	}
}

// TestWorkflowCopyIdentical: the repository runs the very file users copy.
func TestWorkflowCopyIdentical(t *testing.T) {
	copyText, err := os.ReadFile(workflowCopy)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(readWorkflow(t), copyText) {
		t.Fatalf("%s differs from ci/github/%s: cp ci/github/%[2]s .github/workflows/%[2]s", workflowCopy, workflowFile)
	}
}

// TestWorkflowNamesExist: the runtimes the workflow certifies by default, the
// qemu legs' runtime and those its install step knows are registered
// runtimes, and every make target it runs is one of runtimes.mk.
func TestWorkflowNamesExist(t *testing.T) {
	text := readWorkflow(t)
	var wf struct {
		Env map[string]string `yaml:"env"`
	}
	if err := yaml.Unmarshal(text, &wf); err != nil {
		t.Fatal(err)
	}
	known := runners.Names()
	check := func(what, name string) {
		if !slices.Contains(known, name) {
			t.Errorf("%s names runtime %q, which wasicert does not register (known: %s)", what, name, strings.Join(known, ", "))
		}
	}
	for _, name := range strings.Split(wf.Env["WASICERT_RUNTIMES"], ",") {
		check("WASICERT_RUNTIMES", strings.TrimSpace(name))
	}
	check("WASICERT_QEMU_RUNTIME", wf.Env["WASICERT_QEMU_RUNTIME"])

	mk, err := os.ReadFile("../runtimes/runtimes.mk")
	if err != nil {
		t.Fatal(err)
	}
	cases := regexp.MustCompile(`(?m)^\s*([a-z0-9-]+)\) target=([a-z0-9-]+) ;;`).FindAllSubmatch(text, -1)
	if len(cases) == 0 {
		t.Fatal("found no `RUNTIME) target=TARGET ;;` lines in the workflow's install step")
	}
	for _, c := range cases {
		check("the install step", string(c[1]))
		if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(string(c[2])) + `:`).Match(mk) {
			t.Errorf("the install step runs make target %q, which ci/runtimes/runtimes.mk lacks", c[2])
		}
	}
}
