package probes

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/experimental/sock"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
	"github.com/tetratelabs/wazero/sys"
)

func TestMain(m *testing.M) {
	code := m.Run()
	if err := Cleanup(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		code = 1
	}
	os.Exit(code)
}

// ---- running probes on wazero ----------------------------------------------

// cache is shared by every run so each module compiles once.
var cache = wazero.NewCompilationCache()

type run struct {
	args   []string    // argv after argv[0]
	env    [][2]string // key, value
	mount  string      // host dir granted as /sandbox; "" grants none
	ctx    context.Context
	stdout io.Writer // nil: collect into the result
}

type outcome struct {
	stdout []byte
	exit   int   // exit code when the guest exited
	trap   error // the error when it did not
}

func (r run) on(t *testing.T, name string) outcome {
	t.Helper()
	mod, err := Get(name)
	if err != nil {
		t.Fatal(err)
	}
	ctx := r.ctx
	if ctx == nil {
		ctx = context.Background()
	}
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig().
		WithCompilationCache(cache).WithCloseOnContextDone(true))
	defer rt.Close(context.Background())
	wasi_snapshot_preview1.MustInstantiate(ctx, rt)
	compiled, err := rt.CompileModule(ctx, mod.Bytes)
	if err != nil {
		t.Fatalf("compile %s: %v", name, err)
	}
	var stdout bytes.Buffer
	cfg := wazero.NewModuleConfig().
		WithArgs(append([]string{"wasicert-probe"}, r.args...)...).
		WithStdout(&stdout).WithStderr(io.Discard).
		WithSysNanosleep().WithSysNanotime().WithSysWalltime()
	if r.stdout != nil {
		cfg = cfg.WithStdout(r.stdout)
	}
	for _, kv := range r.env {
		cfg = cfg.WithEnv(kv[0], kv[1])
	}
	if r.mount != "" {
		cfg = cfg.WithFSConfig(wazero.NewFSConfig().WithDirMount(r.mount, "/sandbox"))
	}
	_, err = rt.InstantiateModule(ctx, compiled, cfg)
	out := outcome{stdout: stdout.Bytes()}
	if testing.Verbose() && stdout.Len() > 0 {
		t.Logf("%s %q:\n%s", name, r.args, out.stdout)
	}
	var exit *sys.ExitError
	switch {
	case errors.As(err, &exit):
		out.exit = int(exit.ExitCode())
	case err != nil:
		out.trap = err
	}
	return out
}

// record is one decoded probe record.
type record struct {
	Check   string  `json:"check"`
	Op      string  `json:"op"`
	Call    string  `json:"call"`
	Outcome string  `json:"outcome"`
	Errno   string  `json:"errno"`
	Data    *string `json:"data"`
	FD      *int    `json:"fd"`
	Count   *int    `json:"count"`
	Size    *int    `json:"size"`
	Calls   []struct {
		Call  string `json:"call"`
		Errno string `json:"errno"`
	} `json:"calls"`
	DirInheriting    *uint64 `json:"dir_inheriting"`
	RightsBase       *uint64 `json:"rights_base"`
	RightsInheriting *uint64 `json:"rights_inheriting"`
}

// calls renders a record's calls as "call=ERRNO ...", "" when it has none.
func (r record) calls() string {
	var out []string
	for _, c := range r.Calls {
		out = append(out, c.Call+"="+c.Errno)
	}
	return strings.Join(out, " ")
}

// data returns the record's bytes, "" when it has none.
func (r record) data() string {
	if r.Data == nil {
		return ""
	}
	return *r.Data
}

// records decodes stdout, checking that every line is a well-formed record
// in plain printable ASCII, and maps data code points back to bytes.
func (o outcome) records(t *testing.T) []record {
	t.Helper()
	var recs []record
	sc := bufio.NewScanner(bytes.NewReader(o.stdout))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Bytes()
		for _, c := range line {
			if c < 0x20 || c > 0x7e {
				t.Fatalf("record has raw byte %#x: %q", c, line)
			}
		}
		var r record
		if err := json.Unmarshal(line, &r); err != nil {
			t.Fatalf("bad record %q: %v", line, err)
		}
		if r.Check == "" && r.Op != "usage" || r.Op == "" || r.Outcome == "" || r.Errno == "" {
			t.Fatalf("record lacks a required field: %q", line)
		}
		if r.Data != nil {
			b := make([]byte, 0, len(*r.Data))
			for _, cp := range *r.Data {
				if cp > 0xff {
					t.Fatalf("data code point U+%04X out of range: %q", cp, line)
				}
				b = append(b, byte(cp))
			}
			s := string(b)
			r.Data = &s
		}
		recs = append(recs, r)
	}
	return recs
}

func (o outcome) mustExit(t *testing.T, code int) {
	t.Helper()
	if o.trap != nil || o.exit != code {
		t.Fatalf("want exit %d, got exit %d, trap %v; stdout:\n%s", code, o.exit, o.trap, o.stdout)
	}
}

func intp(p *int) int {
	if p == nil {
		return -1
	}
	return *p
}

// ---- fs.wasm ---------------------------------------------------------------

func TestPreopens(t *testing.T) {
	out := run{args: []string{"preopens", "p"}, mount: t.TempDir()}.on(t, "fs")
	out.mustExit(t, 0)
	recs := out.records(t)
	if len(recs) != 5 {
		t.Fatalf("want records for fds 0..4, got %d: %s", len(recs), out.stdout)
	}
	for fd, r := range recs {
		if intp(r.FD) != fd || r.Check != "p" || r.Op != "preopens" {
			t.Errorf("record %d: %+v", fd, r)
		}
	}
	if r := recs[3]; r.Outcome != "ok" || r.Errno != "SUCCESS" || r.data() != "/sandbox" {
		t.Errorf("fd 3: want ok /sandbox, got %+v %q", r, r.data())
	}
	if r := recs[4]; r.Outcome != "error" || r.Errno != "BADF" {
		t.Errorf("fd 4: want BADF, got %+v", r)
	}
}

func TestOpen(t *testing.T) {
	dir := t.TempDir()
	content := "line one\n\x00\xff\"\\ end"
	if err := os.WriteFile(filepath.Join(dir, "inside.txt"), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	out := run{mount: dir, args: []string{
		"open", "in", "/sandbox", "inside.txt", "follow", "0", "r",
		"open", "dotdot", "/sandbox", "../x", "follow", "0", "r",
		"open", "raw", "fd:3", "inside.txt", "nofollow", "0", "r",
		"open", "nopre", "/nowhere", "inside.txt", "follow", "0", "r",
		"open", "dir", "/sandbox", ".", "follow", "2", "r",
		"write", "w", "/sandbox", "new.txt", "follow", "9", "written",
		"stat", "st", "/sandbox", "new.txt", "nofollow",
		"fdstat", "fds", "/sandbox",
		"mkdir", "mk", "/sandbox", "d",
		"rmdir", "rm", "/sandbox", "d",
		"libc-open", "lo", "/sandbox/inside.txt",
		"libc-open", "lo-missing", "/sandbox/missing.txt",
	}}.on(t, "fs")
	out.mustExit(t, 0)
	recs := out.records(t)
	// calls lists every call in order; a run of one call with one answer
	// (fd_read until end of file) is listed once.
	want := []struct{ check, call, errno, data, calls string }{
		{"in", "fd_close", "SUCCESS", content, "path_open=SUCCESS fd_read=SUCCESS fd_close=SUCCESS"},
		{"dotdot", "path_open", "PERM", "", "path_open=PERM"},
		{"raw", "fd_close", "SUCCESS", content, "path_open=SUCCESS fd_read=SUCCESS fd_close=SUCCESS"},
		{"nopre", "resolve", "NOPREOPEN", "/nowhere", ""},
		// The directory was reached: path_open succeeded though the step fails.
		{"dir", "fd_read", "ISDIR", "", "path_open=SUCCESS fd_read=ISDIR fd_close=SUCCESS"},
		{"w", "fd_close", "SUCCESS", "", "path_open=SUCCESS fd_write=SUCCESS fd_close=SUCCESS"},
		{"st", "", "SUCCESS", "regular_file", ""},
		{"fds", "", "SUCCESS", "directory", ""},
		{"mk", "", "SUCCESS", "", ""},
		{"rm", "", "SUCCESS", "", ""},
		{"lo", "close", "SUCCESS", content, "open=SUCCESS read=SUCCESS close=SUCCESS"},
		{"lo-missing", "open", "ENOENT", "", "open=ENOENT"},
	}
	if len(recs) != len(want) {
		t.Fatalf("want %d records, got %d:\n%s", len(want), len(recs), out.stdout)
	}
	for i, w := range want {
		r := recs[i]
		if r.Check != w.check || r.Call != w.call || r.Errno != w.errno || r.data() != w.data || r.calls() != w.calls {
			t.Errorf("record %d: want %+v, got %+v data %q calls %q", i, w, r, r.data(), r.calls())
		}
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "new.txt")); string(got) != "written" {
		t.Errorf("write: file holds %q", got)
	}
	if intp(recs[6].Size) != len("written") {
		t.Errorf("stat: want size 7, got %+v", recs[6])
	}
}

// TestOpenRights checks open-rights: the calls, the rights it prints, and
// that it asks for exactly the access given (wazero opens O_RDONLY for
// FD_READ alone, so the write is refused with BADF).
func TestOpenRights(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "f.txt"), []byte("abc"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := run{mount: dir, args: []string{
		"open-rights", "ro", "/sandbox", "f.txt", "r", "write",
		"open-rights", "wo", "/sandbox", "f.txt", "w", "read",
		"open-rights", "none", "/sandbox", "f.txt", "rw", "none",
		"open-rights", "missing", "/sandbox", "nope.txt", "r", "write",
	}}.on(t, "fs")
	out.mustExit(t, 0)
	recs := out.records(t)
	want := []struct{ check, call, errno, calls string }{
		{"ro", "fd_write", "BADF", "path_open=SUCCESS fd_fdstat_get=SUCCESS fd_write=BADF fd_close=SUCCESS"},
		{"wo", "fd_read", "BADF", "path_open=SUCCESS fd_fdstat_get=SUCCESS fd_read=BADF fd_close=SUCCESS"},
		{"none", "fd_close", "SUCCESS", "path_open=SUCCESS fd_fdstat_get=SUCCESS fd_close=SUCCESS"},
		{"missing", "path_open", "NOENT", "path_open=NOENT"},
	}
	if len(recs) != len(want) {
		t.Fatalf("want %d records, got %d:\n%s", len(want), len(recs), out.stdout)
	}
	for i, w := range want {
		r := recs[i]
		if r.Check != w.check || r.Op != "open-rights" || r.Call != w.call || r.Errno != w.errno || r.calls() != w.calls {
			t.Errorf("record %d: want %+v, got %+v calls %q", i, w, r, r.calls())
		}
		if r.DirInheriting == nil {
			t.Errorf("record %d: no dir_inheriting", i)
		}
		if (r.RightsBase != nil) != (i < 3) || (r.RightsInheriting != nil) != (i < 3) {
			t.Errorf("record %d: rights_base/rights_inheriting present only when fd_fdstat_get ran: %+v", i, r)
		}
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "f.txt")); string(got) != "abc" {
		t.Errorf("the refused write changed the file: %q", got)
	}
	bad := run{args: []string{"open-rights", "x", "/sandbox", "f.txt", "r", "append"}}.on(t, "fs")
	bad.mustExit(t, 2)
	if r := bad.records(t); len(r) != 1 || r[0].Op != "usage" || !strings.Contains(r[0].data(), "read|write|none") {
		t.Errorf("bad act: want one usage record naming read|write|none, got %s", bad.stdout)
	}
}

// TestEnv checks that every byte of every variable comes back exactly, and
// that the output stays printable ASCII (records checks that) whatever the
// bytes are.
func TestEnv(t *testing.T) {
	var all []byte
	for c := 1; c < 256; c++ {
		all = append(all, byte(c))
	}
	env := [][2]string{
		{"SPACES", "a b  c "},
		{"QUOTES", `"double" 'single' \back\`},
		{"NEWLINES", "one\ntwo\r\n"},
		{"EQUALS", "k=v=w"},
		{"EMPTY", ""},
		{"BYTES", "caf\xc3\xa9 \x80\xfe\xff"},
		{"ALL", string(all)},
	}
	out := run{args: []string{"env", "e"}, env: env}.on(t, "fs")
	out.mustExit(t, 0)
	recs := out.records(t)
	if len(recs) != len(env)+1 {
		t.Fatalf("want %d records, got %d:\n%s", len(env)+1, len(recs), out.stdout)
	}
	size := 0
	for i, kv := range env {
		want := kv[0] + "=" + kv[1]
		size += len(want) + 1
		if r := recs[i+1]; r.Op != "environ_get" || r.Outcome != "ok" || r.data() != want {
			t.Errorf("variable %d: want %q, got %+v %q", i, want, r, r.data())
		}
	}
	if r := recs[0]; r.Op != "environ_sizes_get" || intp(r.Count) != len(env) || intp(r.Size) != size {
		t.Errorf("sizes: want count %d size %d, got %+v", len(env), size, r)
	}
}

func TestArgs(t *testing.T) {
	data := []string{"a b", "", `"q" 'q' \`, "x\ny\r", "k=v", "caf\xc3\xa9\x80\xff", "open", "--"}
	argv := append([]string{"wasicert-probe", "args", "a"}, data...)
	out := run{args: argv[1:]}.on(t, "fs")
	out.mustExit(t, 0)
	recs := out.records(t)
	if len(recs) != len(argv)+1 {
		t.Fatalf("want %d records, got %d:\n%s", len(argv)+1, len(recs), out.stdout)
	}
	size := 0
	for i, arg := range argv {
		size += len(arg) + 1
		if r := recs[i+1]; r.Op != "args_get" || r.data() != arg {
			t.Errorf("argv[%d]: want %q, got %+v %q", i, arg, r, r.data())
		}
	}
	if r := recs[0]; r.Op != "args_sizes_get" || intp(r.Count) != len(argv) || intp(r.Size) != size {
		t.Errorf("sizes: want count %d size %d, got %+v", len(argv), size, r)
	}
}

func TestUsage(t *testing.T) {
	for _, args := range [][]string{
		{"bogus", "c"},
		{"open", "c", "/sandbox", "x"}, // missing arguments
		{"open", "c", "/sandbox", "x", "sideways", "0", "r"},                           // bad follow
		{"mkdir", "c0", "/sandbox", "d", "open", "c", "fd:x", "p", "follow", "0", "r"}, // bad step after a good one
	} {
		dir := t.TempDir()
		out := run{args: args, mount: dir}.on(t, "fs")
		out.mustExit(t, 2)
		recs := out.records(t)
		if len(recs) != 1 || recs[0].Op != "usage" || recs[0].Outcome != "error" || recs[0].data() == "" {
			t.Errorf("%q: want one usage record, got:\n%s", args, out.stdout)
		}
		if _, err := os.Stat(filepath.Join(dir, "d")); err == nil {
			t.Errorf("%q: a step ran before the usage error", args)
		}
	}
}

// ---- WAT probes ------------------------------------------------------------

func TestTrap(t *testing.T) {
	if out := (run{}).on(t, "trap"); out.trap == nil || !strings.Contains(out.trap.Error(), "unreachable") {
		t.Fatalf("want an unreachable trap, got exit %d, err %v", out.exit, out.trap)
	}
}

func TestExit(t *testing.T) {
	run{args: []string{"33"}}.on(t, "exit").mustExit(t, 33)
	run{}.on(t, "exit").mustExit(t, 0)
}

func TestSpinAndFlood(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if out := (run{ctx: ctx}).on(t, "spin"); out.trap == nil && out.exit == 0 {
		t.Errorf("spin: want it cut off, it ended by itself")
	}

	ctx, cancel = context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	var n countWriter
	run{ctx: ctx, stdout: &n}.on(t, "flood")
	if n.n < 2<<16 || n.n%(1<<16) != 0 || !n.dots {
		t.Errorf("flood: wrote %d bytes (dots only: %v), want several whole 64 KiB buffers of dots", n.n, n.dots)
	}
}

type countWriter struct {
	n    int
	dots bool
}

func (w *countWriter) Write(p []byte) (int, error) {
	if w.n == 0 {
		w.dots = true
	}
	w.dots = w.dots && len(bytes.Trim(p, ".\n")) == 0
	w.n += len(p)
	return len(p), nil
}

// ---- sock.wasm -------------------------------------------------------------

func TestSockOnStdout(t *testing.T) {
	out := run{args: []string{"accept", "a", "1", "accept", "b", "fd:1"}}.on(t, "sock")
	out.mustExit(t, 0)
	recs := out.records(t)
	if len(recs) != 2 {
		t.Fatalf("want 2 records, got:\n%s", out.stdout)
	}
	for _, r := range recs {
		if r.Op != "accept" || r.Outcome != "error" || (r.Errno != "NOTSOCK" && r.Errno != "BADF") {
			t.Errorf("want NOTSOCK or BADF, got %+v", r)
		}
	}
}

func TestSockEcho(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ctx = sock.WithConfig(ctx, sock.NewConfig().WithTCPListener("127.0.0.1", port))

	got := make(chan string, 1)
	go func() {
		var conn net.Conn
		var err error
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			if conn, err = net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
				break
			}
		}
		if err != nil {
			got <- "dial: " + err.Error()
			return
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := conn.Write([]byte("hello\n")); err != nil {
			got <- "write: " + err.Error()
			return
		}
		b, err := io.ReadAll(conn)
		if err != nil {
			got <- "read: " + err.Error()
			return
		}
		got <- string(b)
	}()

	out := run{ctx: ctx, args: []string{"echo", "e", "500"}}.on(t, "sock")
	out.mustExit(t, 0)
	if s := <-got; s != "hello\n" {
		t.Errorf("client got %q, want %q", s, "hello\n")
	}
	recs := out.records(t)
	var ops []string
	for _, r := range recs {
		ops = append(ops, r.Op)
		if r.Outcome != "ok" {
			t.Errorf("echo: %+v", r)
		}
	}
	if want := []string{"find", "sock_accept", "sock_recv", "sock_send", "sock_shutdown"}; !slices.Equal(ops, want) {
		t.Fatalf("echo records %q, want %q:\n%s", ops, want, out.stdout)
	}
	if recs[0].FD == nil || *recs[0].FD != 3 || recs[2].data() != "hello\n" || intp(recs[3].Size) != 6 {
		t.Errorf("echo records:\n%s", out.stdout)
	}
}

// ---- the Go API ------------------------------------------------------------

func TestGet(t *testing.T) {
	want := []string{"clock", "det", "exit", "flood", "fs", "grow", "proc", "res", "sock", "sockwamr", "sockwasmedge", "spin", "trap"}
	if got := Names(); !slices.Equal(got, want) {
		t.Fatalf("Names() = %q, want %q", got, want)
	}
	for _, name := range want {
		m, err := Get(name)
		if err != nil {
			t.Fatal(err)
		}
		onDisk, err := os.ReadFile(m.Path)
		if err != nil || !bytes.Equal(onDisk, m.Bytes) || m.Digest != digest(m.Bytes) || m.Name != name {
			t.Errorf("%s: path %s err %v, digest %s", name, m.Path, err, m.Digest)
		}
		if fi, err := os.Stat(filepath.Dir(m.Path)); err != nil || fi.Mode().Perm() != 0o700 {
			t.Errorf("%s: temp dir mode %v, err %v", name, fi.Mode(), err)
		}
	}
	if m, err := Get("fs.wasm"); err != nil || m.Name != "fs" {
		t.Errorf(`Get("fs.wasm") = %v, %v`, m.Name, err)
	}
	if _, err := Get("nope"); err == nil || !strings.Contains(err.Error(), "fs, grow, proc, res, sock") {
		t.Errorf(`Get("nope") error %v should list the probes`, err)
	}
}

func TestVerify(t *testing.T) {
	good, err := embedded.ReadFile("exit.wasm")
	if err != nil {
		t.Fatal(err)
	}
	manifest := fmt.Sprintf(`{"modules":[{"name":"exit","file":"exit.wasm","size":%d,"sha256":"%s"},
		{"name":"gone","file":"gone.wasm","size":1,"sha256":"00"}]}`, len(good), digest(good))
	idx := verify(fstest.MapFS{
		"exit.wasm":     {Data: good},
		"extra.wasm":    {Data: good},
		"manifest.json": {Data: []byte(manifest)},
	})
	if idx["exit"].err != nil {
		t.Errorf("exit: %v", idx["exit"].err)
	}
	for name, want := range map[string]string{"gone": "not embedded", "extra": "not listed"} {
		if err := idx[name].err; err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), name+".wasm") {
			t.Errorf("%s: error %v, want it to name the module and say %q", name, err, want)
		}
	}

	idx = verify(fstest.MapFS{"exit.wasm": {Data: append(slices.Clone(good), 0)}, "manifest.json": {Data: []byte(manifest)}})
	if err := idx["exit"].err; err == nil || !strings.Contains(err.Error(), "exit.wasm") || !strings.Contains(err.Error(), "make probes") {
		t.Errorf("tampered exit.wasm: error %v", err)
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	fsBytes, _ := embedded.ReadFile("fs.wasm")
	m, err := Load(write("mine.wasm", fsBytes))
	if err != nil || m.Name != "mine" || m.Digest != digest(fsBytes) || !filepath.IsAbs(m.Path) {
		t.Errorf("Load(valid) = %+v, %v", m.Name, err)
	}
	for _, c := range []struct{ path, want string }{
		{filepath.Join(dir, "missing.wasm"), "does not exist"},
		{write("text.wasm", []byte("(module)\n")), "wat2wasm"},
		{write("junk.wasm", []byte("#!/bin/sh\necho hi\n")), "not a WebAssembly binary"},
		{write("short.wasm", []byte("\x00as")), "not a WebAssembly binary"},
		{write("component.wasm", []byte("\x00asm\x0d\x00\x01\x00")), "component"},
		{write("v2.wasm", []byte("\x00asm\x02\x00\x00\x00")), "version 2"},
	} {
		_, err := Load(c.path)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), c.path) {
			t.Errorf("Load(%s): error %v, want it to name the file and say %q", filepath.Base(c.path), err, c.want)
		}
	}
}
