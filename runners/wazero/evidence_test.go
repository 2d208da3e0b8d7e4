package wazero

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/wasicert/wasicert/internal/hostns"
	"github.com/wasicert/wasicert/probes"
	"github.com/wasicert/wasicert/runners"
)

// TestCanaryPastTheKeptOutput: a guest that floods stdout past MaxOutput and
// then prints a secret is still seen: the embedded runner watches every
// byte (capture.Output.Watch), not only the head it keeps.
func TestCanaryPastTheKeptOutput(t *testing.T) {
	fs, err := probes.Get("fs")
	if err != nil {
		t.Fatal(err)
	}
	const secret = "SECRET-0123456789abcdef0123456789abcdef"
	flood := strings.Repeat("x", runners.MaxOutput+1<<20)
	// The compiler alone: the interpreter shares the output path and takes
	// seconds to print 5 MiB a byte at a time.
	for _, r := range both(t)[:1] {
		res := run(t, r, runners.Invocation{
			Module:   fs,
			Args:     []string{"p", "args", "c", flood, secret},
			Canaries: []runners.Canary{{Name: "token", Value: secret}},
		})
		if strings.Contains(string(res.Stdout), secret) {
			t.Fatalf("%s: the secret is in the kept head: the flood is too short to test anything", r.Name())
		}
		if !res.Truncated || res.StdoutBytes <= int64(len(res.Stdout)) {
			t.Errorf("%s: truncated %v, %d bytes written, %d kept: want the output cut", r.Name(), res.Truncated, res.StdoutBytes, len(res.Stdout))
		}
		if !slices.Contains(res.Sightings, runners.Sighting{Canary: "token", Stream: "stdout"}) {
			t.Errorf("%s: sightings %v, want the token in stdout", r.Name(), res.Sightings)
		}
	}
}

// TestHostFileStandIns: with host / mounted (the weakness), a guest that
// reads /etc/passwd sees the stand-in, which carries the canary, while the
// host's own /etc/passwd (read here, on another thread) is untouched.
func TestHostFileStandIns(t *testing.T) {
	if err := hostns.Supported(); err != nil {
		if os.Geteuid() == 0 {
			t.Fatalf("running as root, but host-file stand-ins are unavailable: %v", err)
		}
		t.Skipf("host-file stand-ins are inactive without root: %v", err)
	}
	fs, err := probes.Get("fs")
	if err != nil {
		t.Fatal(err)
	}
	const token = "wasicert-canary-HOSTFILE-TEST-TOKEN"
	standIn := filepath.Join(t.TempDir(), "passwd")
	real, err := os.ReadFile("/etc/passwd")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(standIn, append(real, token+"\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, r := range both(t) {
		res := run(t, r, runners.Invocation{
			Module:    fs,
			Args:      []string{"p", "libc-open", "c", "/etc/passwd"},
			Preopens:  []runners.Preopen{{GuestPath: "/", HostDir: "/", ReadOnly: true}},
			HostFiles: []runners.HostFile{{Path: "/etc/passwd", StandIn: standIn}},
			Canaries:  []runners.Canary{{Name: "hostfile", Value: token}},
		})
		if !res.HostFilesMasked || !slices.Contains(res.Sightings, runners.Sighting{Canary: "hostfile", Stream: "stdout"}) {
			t.Errorf("%s: masked %v, sightings %v: want the guest to have read the stand-in", r.Name(), res.HostFilesMasked, res.Sightings)
		}
		if b, _ := os.ReadFile("/etc/passwd"); strings.Contains(string(b), token) {
			t.Fatalf("the stand-in leaked into the host's mount namespace")
		}
		// Without stand-ins the guest reads the real file.
		res = run(t, r, runners.Invocation{
			Module:   fs,
			Args:     []string{"p", "libc-open", "c", "/etc/passwd"},
			Preopens: []runners.Preopen{{GuestPath: "/", HostDir: "/", ReadOnly: true}},
			Canaries: []runners.Canary{{Name: "hostfile", Value: token}},
		})
		if res.HostFilesMasked || len(res.Sightings) != 0 {
			t.Errorf("%s: without stand-ins: masked %v, sightings %v", r.Name(), res.HostFilesMasked, res.Sightings)
		}
	}
}
