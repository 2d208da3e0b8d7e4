package cli

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/wasicert/wasicert/internal/process"
	"github.com/wasicert/wasicert/runners"
)

// Runner runs a runtime's CLI as its template says.
type Runner struct {
	t       *Template
	bin     string
	version string
}

func (r *Runner) Name() string               { return r.t.Name }
func (r *Runner) Version() string            { return r.version }
func (r *Runner) Features() runners.Features { return r.t.Features }

// Binary is the runtime executable's path.
func (r *Runner) Binary() string { return r.bin }

// Template is the runner's template.
func (r *Runner) Template() *Template { return r.t }

// Open finds the template's runtime and reads its version: "not installed"
// when the binary is absent, "unusable: <why>" when it cannot be used.
func (t *Template) Open() (runners.Runner, error) {
	var bin string
	var err error
	if v := os.Getenv(t.EnvVar()); v != "" {
		bin, err = process.Find(v)
	} else if strings.ContainsRune(t.Binary, filepath.Separator) {
		bin, err = process.Find(t.Binary)
	} else {
		bin, err = process.FindTool(t.Binary, filepath.Join("bin", t.Binary))
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", t.Name, err)
	}
	v, err := process.Version(bin, t.VersionArgs, t.VersionRE)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", t.Name, err)
	}
	return &Runner{t: t, bin: bin, version: v}, nil
}

// Command builds the runtime's argument list (after argv[0]) for inv, with
// module as the module's host path, and cacheDir and workDir for their
// placeholders. It fails when inv asks for something the template cannot
// express (a read-only preopen or a listener it does not claim).
func (t *Template) Command(inv runners.Invocation, module, cacheDir, workDir string) ([]string, error) {
	var preopens, env, listeners, args, argv0 []string
	for _, p := range inv.Preopens {
		piece := t.Preopen
		if p.ReadOnly {
			if t.ReadOnlyPreopen == nil {
				return nil, fmt.Errorf("%s: read-only preopen %s: not supported (template has no readonly_preopen)", t.Name, p.GuestPath)
			}
			piece = t.ReadOnlyPreopen
		}
		host, err := filepath.Abs(p.HostDir)
		if err != nil {
			return nil, err
		}
		preopens = append(preopens, expandAll(piece, map[string]string{"host": host, "guest": p.GuestPath})...)
	}
	for _, kv := range inv.Env {
		k, v, _ := strings.Cut(kv, "=")
		env = append(env, expandAll(t.Env, map[string]string{"key": k, "value": v})...)
	}
	for _, l := range inv.Listeners {
		if t.Listener == nil {
			return nil, fmt.Errorf("%s: listener %s: not supported (template has no listener)", t.Name, l.Addr)
		}
		listeners = append(listeners, expandAll(t.Listener, map[string]string{"addr": l.Addr})...)
	}
	if len(inv.Args) > 1 {
		if t.ArgsSeparator != "" {
			args = append(args, t.ArgsSeparator)
		}
		for _, a := range inv.Args[1:] {
			args = append(args, expandAll(t.Arg, map[string]string{"arg": a})...)
		}
	}
	if t.Argv0 != nil && len(inv.Args) > 0 {
		argv0 = expandAll(t.Argv0, map[string]string{"arg": inv.Args[0]})
	}
	lists := map[string][]string{"preopens": preopens, "env": env, "listeners": listeners, "args": args, "argv0": argv0}
	scalars := map[string]string{"module": module, "cachedir": cacheDir, "workdir": workDir}
	var out []string
	for _, el := range t.Run {
		if m := placeholderRE.FindStringSubmatch(strings.TrimSpace(el)); m != nil && m[0] == strings.TrimSpace(el) && slices.Contains(runLists, m[1]) {
			out = append(out, lists[m[1]]...)
			continue
		}
		out = append(out, expand(el, scalars))
	}
	return out, nil
}

// Run runs inv through the runtime's CLI.
func (r *Runner) Run(ctx context.Context, inv runners.Invocation) (runners.Result, error) {
	if err := inv.Validate(); err != nil {
		return runners.Result{}, err
	}
	dir, cleanup, err := process.WorkDir(inv)
	if err != nil {
		return runners.Result{}, fmt.Errorf("%s: %w", r.t.Name, err)
	}
	defer cleanup()
	mod, err := process.ModulePath(inv, dir)
	if err != nil {
		return runners.Result{}, fmt.Errorf("%s: %w", r.t.Name, err)
	}
	cache, err := process.CacheDir(r.t.Name + "-" + r.version)
	if err != nil {
		return runners.Result{}, fmt.Errorf("%s: %w", r.t.Name, err)
	}
	args, err := r.t.Command(inv, mod, cache, dir)
	if err != nil {
		return runners.Result{}, err
	}
	var startErr string
	res, err := process.Run(ctx, process.Command{
		Name:     r.t.Name,
		Path:     r.bin,
		Args:     args,
		Dir:      dir,
		Stdin:    inv.Stdin,
		Timeout:  inv.EffectiveTimeout(),
		Evidence: inv,
		Classify: func(res *runners.Result, stdoutTail, stderrTail []byte) {
			if line, ok := r.t.Trap.Matches(stdoutTail, stderrTail, res.ExitCode); ok {
				res.Ended, res.Detail = runners.EndedTrap, line
				return
			}
			if line, ok := r.t.StartError.Matches(stdoutTail, stderrTail, res.ExitCode); ok {
				startErr = line
			}
		},
	})
	if err == nil && startErr != "" {
		return res, fmt.Errorf("%s: module did not start: %s", r.t.Name, startErr)
	}
	return res, err
}

// Builtin parses the templates shipped in templates/ (embedded), by file name.
// A broken one is left out, and the first such error is returned.
func Builtin() (map[string]*Template, error) {
	ts, errs := builtin()
	if len(errs) > 0 {
		names := slices.Sorted(maps.Keys(errs))
		return ts, errs[names[0]]
	}
	return ts, nil
}

// templates are the command templates shipped with wasicert, one runtime
// per file (the format is in the package documentation).
//
//go:embed templates/*.yaml
var templates embed.FS

// builtin parses the shipped templates: the good ones and the errors of the
// broken ones, by file name.
func builtin() (map[string]*Template, map[string]error) {
	ts, errs := map[string]*Template{}, map[string]error{}
	ents, _ := fs.Glob(templates, "templates/*.yaml")
	for _, e := range ents {
		b, err := templates.ReadFile(e)
		e = path.Base(e)
		if err == nil {
			ts[e], err = ParseTemplate("runners/cli/templates/"+e, b)
		}
		if err != nil {
			delete(ts, e)
			errs[e] = err
		}
	}
	return ts, errs
}

func init() {
	ts, errs := builtin()
	for _, t := range ts {
		runners.Register(t.Name, t.Open)
	}
	for e, err := range errs {
		// A broken shipped template is reported when opened, not a panic.
		runners.Register(baseName(e), func() (runners.Runner, error) { return nil, err })
	}
}

// RegisterFile loads a user's template file and registers its runtime under
// the template's name (for --runtime-config). A name already registered is
// an error.
func RegisterFile(path string) (*Template, error) {
	t, err := LoadTemplate(path)
	if err != nil {
		return nil, err
	}
	if slices.Contains(runners.Names(), t.Name) {
		return nil, fmt.Errorf("%s: name: runtime %q is already registered", path, t.Name)
	}
	runners.Register(t.Name, t.Open)
	return t, nil
}
