package suites

import (
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/wasicert/wasicert/fixtures"
	"github.com/wasicert/wasicert/runners"
)

// Links to the rules the specs check.
const (
	refPreview1       = "https://github.com/WebAssembly/WASI/blob/wasi-0.1/preview1/docs.md"
	refPathOpen       = refPreview1 + "#path_open"
	refPathResolution = "https://github.com/WebAssembly/wasi-filesystem/blob/main/path-resolution.md"
	refPrestat        = refPreview1 + "#fd_prestat_get"
	refAppABI         = "https://github.com/WebAssembly/WASI/blob/wasi-0.1/legacy/application-abi.md"
	refEnviron        = refPreview1 + "#environ_get"
	refArgs           = refPreview1 + "#args_get"
	refSock           = refPreview1 + "#sock_accept"
	refReadOnlyGHSA   = "https://github.com/bytecodealliance/wasmtime/security/advisories/GHSA-2r75-cxrj-cmph"
	refEnvTestsuite   = "https://github.com/WebAssembly/wasi-testsuite/tree/main/tests/assemblyscript/wasm32-wasip1/src"
	refProcExit       = refPreview1 + "#proc_exit"
	refRuntimeSpec    = "https://github.com/opencontainers/runtime-spec/blob/main/config.md#process"
	refRunwasiEnv     = "https://github.com/containerd/runwasi/issues/619"
	refShimDoc        = "https://github.com/wasicert/wasicert/blob/main/docs/shim.md"
)

// Guest names of the standard preopens.
const (
	guestSandbox = "/sandbox"
	guestRO      = "/ro"
)

// Open flags (preview-1 oflags).
const (
	oCreat     = 1
	oDirectory = 2
	oTrunc     = 8
)

// Catalogue returns every spec, in a stable order.
func Catalogue() []Spec {
	var all []Spec
	all = append(all, preopenSpecs()...)
	all = append(all, envSpecs()...)
	all = append(all, argsSpecs()...)
	all = append(all, socketSpecs()...)
	all = append(all, exitSpecs()...)
	all = append(all, shimSpecs()...)
	all = append(all, rightsSpecs()...)
	return all
}

// Lookup returns the spec with id.
func Lookup(id string) (Spec, bool) {
	for _, s := range Catalogue() {
		if s.ID == id {
			return s, true
		}
	}
	return Spec{}, false
}

// --- step builders -------------------------------------------------------

func openStep(check, dir, path string, follow bool, oflags int, access string, e Expect) Step {
	f := "nofollow"
	if follow {
		f = "follow"
	}
	return Step{Op: "open", Check: check, Args: []string{dir, path, f, strconv.Itoa(oflags), access}, Expect: e}
}

func writeStep(check, dir, path string, oflags int, content string, e Expect) Step {
	return Step{Op: "write", Check: check, Args: []string{dir, path, "follow", strconv.Itoa(oflags), content}, Expect: e}
}

func step(op, check string, e Expect, args ...string) Step {
	return Step{Op: op, Check: check, Args: args, Expect: e}
}

// sandboxOnly grants the writable sandbox alone.
func sandboxOnly(fx *fixtures.Fixture) []runners.Preopen {
	return []runners.Preopen{{GuestPath: guestSandbox, HostDir: fx.Path("sandbox")}}
}

// sandboxAndRO grants the sandbox and, where the runtime can, the read-only dir.
func sandboxAndRO(fx *fixtures.Fixture, features runners.Features) []runners.Preopen {
	p := sandboxOnly(fx)
	if features.Has(runners.FeatureReadOnlyPreopen) {
		p = append(p, runners.Preopen{GuestPath: guestRO, HostDir: fx.Path("ro"), ReadOnly: true})
	}
	return p
}

// escapePlan is the plan of a path-escape spec: the sandbox alone, the given
// steps, and a control that proves the sandbox itself is reachable.
func escapePlan(steps ...Step) func(*fixtures.Fixture, runners.Features) Plan {
	return func(fx *fixtures.Fixture, _ runners.Features) Plan {
		control := openStep("control.inside", guestSandbox, "inside.txt", true, 0, "r", Succeed)
		return Plan{Probe: "fs", Preopens: sandboxOnly(fx), Steps: append(slices.Clone(steps), control)}
	}
}

// --- preopen isolation ---------------------------------------------------

func preopenSpecs() []Spec {
	return []Spec{
		{
			ID: "preopen.discovery", Area: AreaPreopen, Severity: SeverityEscape, Level: MUST,
			Rule: "Preopens are found from fd 3 upward with exactly the configured guest names, stdio is not a preopen, and the first fd past them answers BADF.",
			Ref:  refPrestat,
			Plan: func(fx *fixtures.Fixture, f runners.Features) Plan {
				return Plan{Probe: "fs", Preopens: sandboxAndRO(fx, f), Steps: []Step{step("preopens", "discovery", Custom)}}
			},
			Judge: judgeDiscovery,
		},
		{
			ID: "preopen.none-granted", Area: AreaPreopen, Severity: SeverityEscape, Level: MUST,
			Rule: "With no preopen configured the guest has no directory: fd 3 is not a preopen and no path opens.",
			Ref:  refAppABI,
			Plan: func(fx *fixtures.Fixture, _ runners.Features) Plan {
				return Plan{Probe: "fs", Steps: []Step{
					step("preopens", "none.discovery", Custom),
					openStep("none.fd3", "fd:3", ".", true, oDirectory, "r", Custom),
					step("libc-open", "none.libc-secret", Deny, fx.Path("outside/secret.txt")),
					step("libc-open", "none.libc-etc", Deny, "/etc/passwd"),
				}}
			},
			Judge: judgeNoPreopen,
		},
		{
			ID: "preopen.absolute-path", Area: AreaPreopen, Severity: SeverityEscape, Level: MUST,
			Rule: "path_open with an absolute path is refused with PERM or NOTCAPABLE: there is no global namespace.",
			Ref:  refPathResolution,
			Plan: func(fx *fixtures.Fixture, f runners.Features) Plan {
				return escapePlan(
					openStep("abs.root", guestSandbox, "/", true, oDirectory, "r", Refuse),
					openStep("abs.etc-passwd", guestSandbox, "/etc/passwd", true, 0, "r", Refuse),
					openStep("abs.canary", guestSandbox, fx.Path("outside/secret.txt"), true, 0, "r", Refuse),
					step("mkdir", "abs.mkdir", Refuse, guestSandbox, fx.Path("outside/made-by-guest")),
				)(fx, f)
			},
		},
		{
			ID: "preopen.host-path-unreachable", Area: AreaPreopen, Severity: SeverityEscape, Level: MUST,
			Rule: "No preopen reaches a host path that was not granted: wasi-libc's open() of an absolute host path fails.",
			Ref:  refAppABI,
			Plan: func(fx *fixtures.Fixture, f runners.Features) Plan {
				return Plan{Probe: "fs", Preopens: sandboxOnly(fx), Steps: []Step{
					step("libc-open", "libc.canary", Deny, fx.Path("outside/secret.txt")),
					step("libc-open", "libc.etc-passwd", Deny, "/etc/passwd"),
					step("libc-open", "libc.control", Succeed, guestSandbox+"/inside.txt"),
				}}
			},
		},
		{
			ID: "preopen.dotdot", Area: AreaPreopen, Severity: SeverityEscape, Level: MUST,
			Rule: "A path that climbs out of its directory with .. is refused with PERM or NOTCAPABLE.",
			Ref:  refPathResolution,
			Plan: escapePlan(
				openStep("dotdot.secret", guestSandbox, "../outside/secret.txt", true, 0, "r", Refuse),
				openStep("dotdot.parent", guestSandbox, "..", true, oDirectory, "r", Refuse),
				openStep("dotdot.sibling-prefix", guestSandbox, "../sandbox-evil/secret.txt", true, 0, "r", Refuse),
				step("stat", "dotdot.stat", Refuse, guestSandbox, "../outside", "follow"),
				step("mkdir", "dotdot.mkdir", Refuse, guestSandbox, "../outside/made-by-guest"),
			),
		},
		{
			ID: "preopen.dotdot-nested", Area: AreaPreopen, Severity: SeverityEscape, Level: MUST,
			Rule: "A path that climbs out through nested components (sub/../../x) is refused with PERM or NOTCAPABLE.",
			Ref:  refPathResolution,
			Plan: escapePlan(
				openStep("nested.one", guestSandbox, "sub/../../outside/secret.txt", true, 0, "r", Refuse),
				openStep("nested.deep", guestSandbox, "sub/nested/../../../outside/secret.txt", true, 0, "r", Refuse),
				openStep("nested.many", guestSandbox, "../../../../../../../../etc/passwd", true, 0, "r", Refuse),
				writeStep("nested.create", guestSandbox, "sub/../../outside/made-by-guest", oCreat, "ESCAPED", Refuse),
			),
		},
		{
			ID: "preopen.dotdot-transient", Area: AreaPreopen, Severity: SeverityLeak, Level: MUST,
			Rule: "A path may not step outside its directory even temporarily (../sandbox/x): that would reveal what exists outside.",
			Ref:  refPathResolution,
			Plan: escapePlan(
				openStep("transient.back", guestSandbox, "../sandbox/inside.txt", true, 0, "r", Refuse),
				openStep("transient.nested", guestSandbox, "sub/../../sandbox/inside.txt", true, 0, "r", Refuse),
				openStep("transient.control", guestSandbox, "sub/../inside.txt", true, 0, "r", Succeed),
			),
		},
		{
			ID: "preopen.host-symlink-relative", Area: AreaPreopen, Severity: SeverityEscape, Level: MUST,
			Rule: "A symlink planted by the host that points out of the preopen (rel -> ../outside/secret.txt) is not followed out, as final or intermediate component.",
			Ref:  refPathResolution,
			Plan: escapePlan(
				openStep("hostrel.file", guestSandbox, "rel", true, 0, "r", Refuse),
				openStep("hostrel.dir", guestSandbox, "reldir/secret.txt", true, 0, "r", Refuse),
				openStep("hostrel.dir-nofollow", guestSandbox, "reldir/secret.txt", false, 0, "r", Refuse),
				writeStep("hostrel.create", guestSandbox, "reldir/made-by-guest", oCreat, "ESCAPED", Refuse),
				openStep("hostrel.control", guestSandbox, "inlink", true, 0, "r", Succeed),
			),
		},
		{
			ID: "preopen.host-symlink-absolute", Area: AreaPreopen, Severity: SeverityEscape, Level: MUST,
			Rule: "A symlink planted by the host with an absolute target (abs -> /host/path) is never followed.",
			Ref:  refPathResolution,
			Plan: escapePlan(
				openStep("hostabs.file", guestSandbox, "abs", true, 0, "r", Refuse),
				openStep("hostabs.dir", guestSandbox, "absdir/secret.txt", true, 0, "r", Refuse),
				openStep("hostabs.etc", guestSandbox, "etc/passwd", true, 0, "r", Refuse),
				writeStep("hostabs.create", guestSandbox, "absdir/made-by-guest", oCreat, "ESCAPED", Refuse),
			),
		},
		{
			ID: "preopen.guest-symlink", Area: AreaPreopen, Severity: SeverityEscape, Level: MUST,
			Rule: "A symlink the guest creates may point anywhere, but following it out of the preopen is refused.",
			Ref:  refPathResolution,
			Plan: escapePlan(
				step("symlink", "guestsym.make-file", Tolerate, "../outside/secret.txt", guestSandbox, "g-file"),
				openStep("guestsym.file", guestSandbox, "g-file", true, 0, "r", Refuse),
				step("symlink", "guestsym.make-dir", Tolerate, "../outside", guestSandbox, "g-dir"),
				openStep("guestsym.dir", guestSandbox, "g-dir/secret.txt", true, 0, "r", Refuse),
				writeStep("guestsym.create", guestSandbox, "g-dir/made-by-guest", oCreat, "ESCAPED", Refuse),
				step("symlink", "guestsym.make-nested", Tolerate, "sub/../../outside", guestSandbox, "g-nested"),
				openStep("guestsym.nested", guestSandbox, "g-nested/secret.txt", true, 0, "r", Refuse),
				step("symlink", "guestsym.make-control", Succeed, "inside.txt", guestSandbox, "g-inside"),
				openStep("guestsym.control", guestSandbox, "g-inside", true, 0, "r", Succeed),
			),
		},
		{
			ID: "preopen.guest-symlink-absolute", Area: AreaPreopen, Severity: SeverityEscape, Level: MUST,
			Rule: "A guest symlink with an absolute target is never followed (and should not be created: path-resolution.md says it is not permitted).",
			Ref:  refPathResolution,
			Plan: func(fx *fixtures.Fixture, f runners.Features) Plan {
				return escapePlan(
					Step{Op: "symlink", Check: "guestabs.make-canary", Args: []string{fx.Path("outside/secret.txt"), guestSandbox, "ga-file"}, Expect: Tolerate, NoteIfOK: "path_symlink with an absolute target succeeded; path-resolution.md says creating one is not permitted"},
					openStep("guestabs.canary", guestSandbox, "ga-file", true, 0, "r", Refuse),
					Step{Op: "symlink", Check: "guestabs.make-etc", Args: []string{"/etc", guestSandbox, "ga-etc"}, Expect: Tolerate, NoteIfOK: "path_symlink with an absolute target succeeded; path-resolution.md says creating one is not permitted"},
					openStep("guestabs.etc", guestSandbox, "ga-etc/passwd", true, 0, "r", Refuse),
				)(fx, f)
			},
		},
		{
			ID: "preopen.readonly-write", Area: AreaPreopen, Severity: SeverityEscape, Level: MUST,
			Rule: "A read-only preopen refuses opening an existing file for writing.",
			Ref:  refPathOpen, Requires: []runners.Feature{runners.FeatureReadOnlyPreopen}, Accept: readOnlyErrnos,
			Plan: readOnlyPlan(
				writeStep("ro.write", guestRO, "victim.txt", 0, "OVERWRITTEN", Refuse),
				openStep("ro.open-rw", guestRO, "victim.txt", true, 0, "rw", Refuse),
			),
		},
		{
			ID: "preopen.readonly-create", Area: AreaPreopen, Severity: SeverityEscape, Level: MUST,
			Rule: "A read-only preopen refuses creating files, directories and symlinks.",
			Ref:  refPathOpen, Requires: []runners.Feature{runners.FeatureReadOnlyPreopen}, Accept: readOnlyErrnos,
			Plan: readOnlyPlan(
				writeStep("ro.create", guestRO, "made-by-guest", oCreat, "CREATED", Refuse),
				step("mkdir", "ro.mkdir", Refuse, guestRO, "dir-by-guest"),
				step("symlink", "ro.symlink", Refuse, "victim.txt", guestRO, "link-by-guest"),
				step("unlink", "ro.unlink", Refuse, guestRO, "victim.txt"),
				step("rename", "ro.rename", Refuse, guestRO, "victim.txt", guestRO, "moved.txt"),
			),
		},
		{
			ID: "preopen.readonly-truncate", Area: AreaPreopen, Severity: SeverityEscape, Level: MUST,
			Rule: "A read-only preopen refuses O_TRUNC, also when only FD_READ is asked for (GHSA-2r75-cxrj-cmph).",
			Ref:  refReadOnlyGHSA, Requires: []runners.Feature{runners.FeatureReadOnlyPreopen}, Accept: readOnlyErrnos,
			Plan: readOnlyPlan(
				openStep("ro.trunc-read", guestRO, "victim.txt", true, oTrunc, "r", Refuse),
				writeStep("ro.trunc-write", guestRO, "victim.txt", oTrunc, "", Refuse),
			),
		},
		{
			ID: "preopen.inside-readable", Area: AreaPreopen, Severity: SeverityConformance, Level: MUST,
			Rule: "What was granted works: files inside a preopen (and a read-only preopen) open and read back exactly.",
			Ref:  refPathOpen,
			Plan: func(fx *fixtures.Fixture, f runners.Features) Plan {
				steps := []Step{
					openStep("inside.file", guestSandbox, "inside.txt", true, 0, "r", Works),
					openStep("inside.nested", guestSandbox, "sub/nested/file.txt", true, 0, "r", Works),
					openStep("inside.dot", guestSandbox, "sub/./nested/../../inside.txt", true, 0, "r", Works),
				}
				if f.Has(runners.FeatureReadOnlyPreopen) {
					steps = append(steps, openStep("inside.ro", guestRO, "victim.txt", true, 0, "r", Works))
				}
				return Plan{Probe: "fs", Preopens: sandboxAndRO(fx, f), Steps: steps}
			},
			Judge: judgeContents(map[string]string{
				"inside.file": "INSIDE-FILE\n", "inside.nested": "NESTED-FILE\n", "inside.dot": "INSIDE-FILE\n", "inside.ro": "VICTIM-FILE\n",
			}),
		},
	}
}

// readOnlyErrnos are the answers that refuse a write to a read-only preopen
// (RATIONALE.md, Verdicts): the escape errnos plus POSIX's own.
var readOnlyErrnos = []string{"PERM", "NOTCAPABLE", "ROFS", "ACCES", "BADF"}

// readOnlyPlan grants the sandbox and the read-only dir, and proves the
// read-only dir is really there by reading from it.
func readOnlyPlan(steps ...Step) func(*fixtures.Fixture, runners.Features) Plan {
	return func(fx *fixtures.Fixture, f runners.Features) Plan {
		control := openStep("ro.control", guestRO, "victim.txt", true, 0, "r", Succeed)
		return Plan{Probe: "fs", Preopens: sandboxAndRO(fx, f), Steps: append(slices.Clone(steps), control)}
	}
}

// --- environment -----------------------------------------------------------

// exactEnv exercises bytes that naive splitting or quoting breaks.
var exactEnv = []string{
	"A=text",
	`B=escap " ing`,
	"C=new\nline",
	"E=",
	"F=x=y=z",
	"G=with spaces",
	"H=\u00fcn\u00ef",
	"I='single'",
}

func envSpecs() []Spec {
	return []Spec{
		{
			ID: "env.empty", Area: AreaEnv, Severity: SeverityLeak, Level: MUST,
			Rule: "With no environment configured the guest sees zero variables (environ_sizes_get returns 0, 0).",
			Ref:  refEnvTestsuite + "/environ_sizes_get-no-variables.ts",
			Plan: func(*fixtures.Fixture, runners.Features) Plan {
				return Plan{Probe: "fs", Steps: []Step{step("env", "env", Custom)}}
			},
			Judge: judgeEnv(nil),
		},
		{
			ID: "env.exact", Area: AreaEnv, Severity: SeverityConformance, Level: MUST,
			Rule: "Configured variables are seen exactly, byte for byte: spaces, quotes, newlines, '=' inside values, empty values, UTF-8.",
			Ref:  refEnvTestsuite + "/environ_get-multiple-variables.ts",
			Plan: func(*fixtures.Fixture, runners.Features) Plan {
				return Plan{Probe: "fs", Env: slices.Clone(exactEnv), Steps: []Step{step("env", "env", Custom)}}
			},
			Judge: judgeEnv(exactEnv),
		},
		{
			ID: "env.host-canary", Area: AreaEnv, Severity: SeverityLeak, Level: MUST,
			Rule: "The launcher's own environment never reaches the guest: its canary variable and host variables stay out, whatever is configured.",
			Ref:  refEnviron,
			Plan: func(*fixtures.Fixture, runners.Features) Plan {
				return Plan{Probe: "fs", Env: []string{"APP_VAR=1"}, Steps: []Step{step("env", "env", Custom)}}
			},
			Judge: judgeHostEnv,
		},
	}
}

// --- args ------------------------------------------------------------------

// exactArgs exercises argv bytes that naive quoting breaks.
var exactArgs = []string{"a", "b c", "", "\u00fcn\u00ef", "--flag=x", "new\nline", `quo"te`}

func argsPlan(*fixtures.Fixture, runners.Features) Plan {
	return Plan{Probe: "fs", Steps: []Step{{Op: "args", Check: "args", Args: slices.Clone(exactArgs), Expect: Custom}}}
}

func argsSpecs() []Spec {
	return []Spec{
		{
			ID: "args.exact", Area: AreaArgs, Severity: SeverityConformance, Level: MUST,
			Rule: "argv is exactly as configured, argv[0] included: spaces, empty strings, newlines, quotes, UTF-8.",
			Ref:  refArgs, Plan: argsPlan, Judge: judgeArgs,
		},
		{
			ID: "args.argv0-no-host-path", Area: AreaArgs, Severity: SeverityLeak, Level: SHOULD,
			Rule: "argv[0] carries no host path (the module's file, the launcher's directories) unless one was configured.",
			Ref:  refArgs, Plan: argsPlan, Judge: judgeArgv0,
		},
	}
}

// --- sockets -----------------------------------------------------------------

// sockErrnos are the answers a sock_* call on a non-socket or invalid fd may give.
var sockErrnos = []string{"NOTSOCK", "BADF"}

func sockSteps(prefix, fd string) []Step {
	return []Step{
		step("accept", prefix+".accept", Refuse, fd),
		step("recv", prefix+".recv", Refuse, fd),
		step("send", prefix+".send", Refuse, fd),
		step("shutdown", prefix+".shutdown", Refuse, fd),
	}
}

func socketSpecs() []Spec {
	sockFeat := []runners.Feature{runners.FeatureSockImports}
	return []Spec{
		{
			ID: "socket.non-socket-fd", Area: AreaSocket, Severity: SeverityConformance, Level: MUST,
			Rule: "sock_accept, sock_recv, sock_send and sock_shutdown on stdio or a directory fail with NOTSOCK or BADF, and never crash the runtime.",
			Ref:  refSock, Requires: sockFeat, Accept: sockErrnos, StrictErrno: true,
			Plan: func(fx *fixtures.Fixture, _ runners.Features) Plan {
				var steps []Step
				steps = append(steps, sockSteps("stdin", "0")...)
				steps = append(steps, sockSteps("stdout", "1")...)
				steps = append(steps, sockSteps("dir", guestSandbox)...)
				return Plan{Probe: "sock", Preopens: sandboxOnly(fx), Steps: steps}
			},
		},
		{
			ID: "socket.invalid-fd", Area: AreaSocket, Severity: SeverityConformance, Level: MUST,
			Rule: "sock_accept, sock_recv, sock_send and sock_shutdown on an fd that is not open fail with BADF (or NOTSOCK), and never crash the runtime.",
			Ref:  refSock, Requires: sockFeat, Accept: sockErrnos, StrictErrno: true,
			Plan: func(*fixtures.Fixture, runners.Features) Plan {
				return Plan{Probe: "sock", Steps: sockSteps("invalid", "9999")}
			},
		},
		{
			ID: "socket.accept-echo", Area: AreaSocket, Severity: SeverityConformance, Level: SHOULD,
			Rule: "A listener the host preopens is usable: a real TCP client on 127.0.0.1 is accepted by the guest and its bytes come back.",
			Ref:  refSock, Requires: []runners.Feature{runners.FeatureSockImports, runners.FeaturePreopenedSockets},
			Plan: func(fx *fixtures.Fixture, _ runners.Features) Plan {
				return Plan{Probe: "sock", Listen: true, Steps: []Step{step("echo", "echo", Custom, "500")}, Client: echoClient}
			},
			Judge: judgeEcho,
		},
	}
}

// --- exit codes -------------------------------------------------------------

func exitSpecs() []Spec {
	return []Spec{
		{
			ID: "exit.code-passthrough", Area: AreaExit, Severity: SeverityConformance, Level: MUST,
			Rule: "proc_exit(33) ends the run with exit status 33, so CI reading the status sees what the guest said.",
			Ref:  refProcExit,
			Plan: func(*fixtures.Fixture, runners.Features) Plan {
				return Plan{Probe: "exit", Args: []string{"33"}, ExitCode: 33}
			},
		},
	}
}

// --- containerd shims ----------------------------------------------------------

// shimEnv is image env that must not reach the host side of a shim: a shim
// that copied container env into its own (as runwasi's WasmEdge shim does
// for WASMEDGE_*) would write its cache or load plug-ins under outside/.
func shimEnv(fx *fixtures.Fixture) []string {
	return []string{
		"WASICERT_SHIM_CACHE_DIR=" + fx.Path("outside/shim-cache"),
		"WASMEDGE_PLUGIN_PATH=" + fx.Path("outside/plugins"),
		"WASMTIME_CACHE_CONFIG=" + fx.Path("outside/wasmtime-cache.toml"),
		"RUST_LOG=trace",
	}
}

func shimSpecs() []Spec {
	container := []runners.Feature{runners.FeatureContainer}
	return []Spec{
		{
			ID: "shim.rootfs-only", Area: AreaShim, Severity: SeverityEscape, Level: MUST,
			Rule: "A wasm container sees its image rootfs and its bind mounts, nothing else: no /proc, /dev, /sys, host /etc or service-account secrets.",
			Ref:  refShimDoc, Requires: container,
			Plan: func(fx *fixtures.Fixture, _ runners.Features) Plan {
				var steps []Step
				steps = append(steps, step("preopens", "rootfs.discovery", Custom))
				for i, p := range []string{"/proc/self/environ", "/proc/1/environ", "/proc/self/mem", "/dev/null", "/dev/zero",
					"/sys/kernel/uevent_seqnum", "/etc/hosts", "/etc/passwd", "/var/run/secrets/kubernetes.io/serviceaccount/token"} {
					steps = append(steps, step("libc-open", "rootfs.host-"+strconv.Itoa(i), Deny, p))
				}
				steps = append(steps, step("libc-open", "rootfs.control", Succeed, "/"+Argv0))
				return Plan{Probe: "fs", Steps: steps}
			},
			Judge: judgeNoPreopen,
		},
		{
			ID: "shim.rootfs-symlink-escape", Area: AreaShim, Severity: SeverityEscape, Level: MUST,
			Rule: "A symlink the guest makes in its rootfs (esc -> ../../..., or an absolute host path) never leads out of the container: reading or writing through it stays inside.",
			Ref:  refPathResolution, Requires: container,
			Plan: func(fx *fixtures.Fixture, _ runners.Features) Plan {
				climb := strings.Repeat("../", 16)
				return Plan{Probe: "fs", Steps: []Step{
					step("symlink", "rootesc.make-climb", Tolerate, climb, "/", "esc"),
					openStep("rootesc.read", "/", "esc"+fx.Path("outside/secret.txt"), true, 0, "r", Refuse),
					writeStep("rootesc.write", "/", "esc"+fx.Path("outside/made-by-guest"), oCreat, "ESCAPED", Refuse),
					step("symlink", "rootesc.make-abs", Tolerate, fx.Path("outside"), "/", "escabs"),
					openStep("rootesc.read-abs", "/", "escabs/secret.txt", true, 0, "r", Refuse),
					openStep("rootesc.control", "/", Argv0, true, 0, "r", Succeed),
				}}
			},
		},
		{
			ID: "shim.env-boundary", Area: AreaShim, Severity: SeverityLeak, Level: MUST,
			Rule: "The guest's environment is exactly the OCI spec's env: the shim's and containerd's own environment (holding the host canary) never reaches it; engine-injected entries are reported as such.",
			Ref:  refRuntimeSpec, Requires: container,
			Plan: func(*fixtures.Fixture, runners.Features) Plan {
				return Plan{Probe: "fs", Env: []string{"APP_VAR=1"}, Steps: []Step{step("env", "env", Custom)}}
			},
			Judge: judgeEnv([]string{"APP_VAR=1"}),
		},
		{
			ID: "shim.image-env-inert", Area: AreaShim, Severity: SeverityEscape, Level: MUST,
			Rule: "Container env (WASMEDGE_*, WASMTIME_*, RUST_LOG, the shim's own settings) reaches the guest only and cannot reconfigure the shim on the host.",
			Ref:  refRunwasiEnv, Requires: container,
			Plan: func(fx *fixtures.Fixture, _ runners.Features) Plan {
				return Plan{Probe: "fs", Env: shimEnv(fx), Steps: []Step{step("env", "env", Custom)}}
			},
			Judge: func(ev *Evidence) Judgement { return judgeEnv(shimEnv(ev.Fixture))(ev) },
		},
		{
			ID: "shim.signal-exit", Area: AreaShim, Severity: SeverityConformance, Level: SHOULD,
			Rule: "Killing the task with SIGTERM ends it with exit status 143 (128+signal), as for a Linux container.",
			Ref:  refShimDoc, Requires: []runners.Feature{runners.FeatureContainer, runners.FeatureSignal},
			Plan: func(*fixtures.Fixture, runners.Features) Plan {
				return Plan{Probe: "spin", Args: []string{}, ExitCode: 143, Signal: syscall.SIGTERM, SignalAfter: 300 * time.Millisecond}
			},
		},
	}
}

// IDs returns the IDs of specs, for messages and tests.
func IDs(specs []Spec) []string {
	ids := make([]string, len(specs))
	for i, s := range specs {
		ids[i] = s.ID
	}
	return ids
}

func joinIDs(ids []string) string { return strings.Join(ids, ", ") }
