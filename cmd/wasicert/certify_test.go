package main

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wasicert/wasicert/certify"
)

// certifyOnce makes one bundle for the tests of this file: a full
// certification run of embedded wazero-confined, signed.
func certifyOnce(t *testing.T) (bundle, pubPath string) {
	t.Helper()
	dir := t.TempDir()
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	keyPath, pubPath := filepath.Join(dir, "key.pem"), filepath.Join(dir, "pub.pem")
	writeFile(t, keyPath, 0o600, string(certify.MarshalPrivateKey(priv)))
	writeFile(t, pubPath, 0o644, string(certify.MarshalPublicKey(pub)))
	bundle = filepath.Join(dir, "bundle")
	r := wasicert(t, "certify", "--runtime", "wazero-confined", "--out", bundle, "--sign-key", keyPath)
	if r.code == exitUsage || !strings.Contains(r.stdout, "certify: wazero-confined") {
		t.Fatalf("certify: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	return bundle, pubPath
}

// copyDir copies a bundle so that a test can damage its copy.
func copyDir(t *testing.T, from string) string {
	t.Helper()
	to := filepath.Join(t.TempDir(), "copy")
	if err := os.CopyFS(to, os.DirFS(from)); err != nil {
		t.Fatal(err)
	}
	return to
}

func wantRejected(t *testing.T, r outcome, reason string) {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
	if r.code != exitUsage || len(lines) != 1 || !strings.Contains(lines[0], "REJECTED") || !strings.Contains(lines[0], reason) {
		t.Errorf("exit %d, stderr %q; want exit 2 and one line rejecting it for %q", r.code, r.stderr, reason)
	}
}

// TestCertifyVerify: a bundle certify wrote is accepted, with its
// signature; one byte changed anywhere in it, a file missing or added, a
// signature checked with another key, and a wasicert with another probe
// module reject it, each naming why.
func TestCertifyVerify(t *testing.T) {
	bundle, pub := certifyOnce(t)
	for _, f := range []string{"junit.xml", "results.jsonl", "records.jsonl", "summary.json", "run.log",
		"certificate.json", "certificate.md", "attestation.intoto.json", "attestation.dsse.json", "manifest.json"} {
		if fi, err := os.Stat(filepath.Join(bundle, f)); err != nil || fi.Size() == 0 {
			t.Errorf("bundle file %s: %v", f, err)
		}
	}
	var cert certify.Certificate
	readJSON(t, filepath.Join(bundle, "certificate.json"), &cert)
	if cert.Runtime != "wazero-confined" || !cert.Complete || cert.Specs == 0 || len(cert.Profiles) != 2 ||
		cert.Subject.Digest["sha256"] == "" || cert.Probes == "" || cert.Catalogue == "" || cert.HostChecks["snapshot"] == 0 {
		t.Errorf("certificate: %+v", cert)
	}

	r := wasicert(t, "verify", "--pubkey", pub, bundle)
	if r.code == exitUsage || !strings.Contains(r.stdout, "intact (signature checked)") || !strings.Contains(r.stdout, strings.ToUpper(cert.Verdict)) {
		t.Fatalf("verify of a fresh bundle: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	t.Run("one byte changed", func(t *testing.T) {
		for _, f := range []string{"results.jsonl", "certificate.json", "attestation.intoto.json", "run.log"} {
			c := copyDir(t, bundle)
			p := filepath.Join(c, f)
			b, _ := os.ReadFile(p)
			b[len(b)/2] ^= 0x01
			writeFile(t, p, 0o644, string(b))
			wantRejected(t, wasicert(t, "verify", c), f+" was changed after the bundle was made")
		}
	})
	t.Run("re-hashed by hand", func(t *testing.T) {
		// A forger who fixes up the manifest after changing a verdict in
		// the results is caught by the certificate's own digests.
		c := copyDir(t, bundle)
		p := filepath.Join(c, "results.jsonl")
		b, _ := os.ReadFile(p)
		writeFile(t, p, 0o644, strings.Replace(string(b), `"actual":"fail"`, `"actual":"pass"`, 1))
		rehash(t, c)
		wantRejected(t, wasicert(t, "verify", c), "results.jsonl differs from the one the certificate was made from")
	})
	t.Run("missing file", func(t *testing.T) {
		c := copyDir(t, bundle)
		os.Remove(filepath.Join(c, "junit.xml"))
		wantRejected(t, wasicert(t, "verify", c), "missing junit.xml")
	})
	t.Run("added file", func(t *testing.T) {
		c := copyDir(t, bundle)
		writeFile(t, filepath.Join(c, "extra.txt"), 0o644, "x")
		wantRejected(t, wasicert(t, "verify", c), "extra.txt is in the bundle but not in its manifest")
	})
	t.Run("another key", func(t *testing.T) {
		other, _, _ := ed25519.GenerateKey(nil)
		p := filepath.Join(t.TempDir(), "other.pem")
		writeFile(t, p, 0o644, string(certify.MarshalPublicKey(other)))
		wantRejected(t, wasicert(t, "verify", "--pubkey", p, bundle), "not made with the key given")
	})
	t.Run("other probes", func(t *testing.T) {
		other := buildWithChangedProbe(t)
		r := outcomeOf(exec.Command(other, "verify", bundle))
		wantRejected(t, r, "made with other probes")
	})
}

// rehash rewrites a bundle's manifest to match its files, as a forger would.
func rehash(t *testing.T, dir string) {
	t.Helper()
	var m certify.Manifest
	readJSON(t, filepath.Join(dir, "manifest.json"), &m)
	for name := range m.Files {
		d, err := certify.FileDigest(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		m.Files[name] = d
	}
	b, _ := json.Marshal(m)
	writeFile(t, filepath.Join(dir, "manifest.json"), 0o644, string(b))
}

func outcomeOf(cmd *exec.Cmd) outcome {
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	}
	return outcome{code: code, stdout: out.String(), stderr: errb.String()}
}

// buildWithChangedProbe builds wasicert from a copy of this checkout whose
// trap.wasm carries one more (custom) section, its manifest updated: the
// same code, another probe set.
func buildWithChangedProbe(t *testing.T) string {
	t.Helper()
	root, _ := filepath.Abs("../..")
	src := filepath.Join(t.TempDir(), "src")
	skip := map[string]bool{".git": true, ".tools": true, "out": true, "bin": true}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if d.IsDir() && skip[rel] {
			return filepath.SkipDir
		}
		to := filepath.Join(src, rel)
		if d.IsDir() {
			return os.MkdirAll(to, 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(to, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	trap := filepath.Join(src, "probes", "trap.wasm")
	b, _ := os.ReadFile(trap)
	b = append(b, 0x00, 0x02, 0x01, 'x') // a custom section named "x"
	writeFile(t, trap, 0o644, string(b))
	man := filepath.Join(src, "probes", "manifest.json")
	mb, _ := os.ReadFile(man)
	var m struct {
		Modules []map[string]any `json:"modules"`
	}
	if err := json.Unmarshal(mb, &m); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	s := string(mb)
	for _, mod := range m.Modules {
		if mod["file"] == "trap.wasm" {
			s = strings.Replace(s, mod["sha256"].(string), hex.EncodeToString(sum[:]), 1)
			s = strings.Replace(s, `"size": `+jsonNumber(mod["size"]), `"size": `+jsonNumber(float64(len(b))), 1)
		}
	}
	writeFile(t, man, 0o644, s)
	out := filepath.Join(t.TempDir(), "wasicert-other-probes")
	cmd := exec.Command("go", "build", "-o", out, "./cmd/wasicert")
	cmd.Dir = src
	start := time.Now()
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	t.Logf("built wasicert with another trap.wasm in %s", time.Since(start).Round(time.Millisecond))
	return out
}

func jsonNumber(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestCertifyBadInput(t *testing.T) {
	full := t.TempDir()
	writeFile(t, filepath.Join(full, "x"), 0o644, "x")
	badKey := filepath.Join(t.TempDir(), "key.pem")
	writeFile(t, badKey, 0o600, "not a key\n")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"certify", "--runtime", "wazero", "--out", full}, "exists and is not empty"},
		{[]string{"certify", "--runtime", "wazero", "--out", t.TempDir(), "--focus", "env"}, "--focus is refused"},
		{[]string{"certify", "--runtime", "wazero", "--out", t.TempDir(), "--label-filter", "Area:env"}, "--label-filter is refused"},
		{[]string{"certify", "--runtime", "wazero", "--out", t.TempDir(), "--no-expectations"}, "--no-expectations is refused"},
		{[]string{"certify", "--out", t.TempDir()}, "--runtime is required"},
		{[]string{"certify", "--runtime", "wazero"}, "--out DIR is required"},
		{[]string{"certify", "--runtime", "wazero", "--out", t.TempDir(), "--sign-key", badKey}, "not a PEM"},
		{[]string{"certify", "--runtime", "wazero", "--out", t.TempDir(), "--subject-digest", "img@sha256:xyz"}, "want NAME@sha256"},
		{[]string{"verify"}, "give one bundle directory"},
		{[]string{"verify", t.TempDir()}, "is not a bundle"},
	} {
		r := wasicert(t, c.args...)
		lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
		if r.code != exitUsage || len(lines) != 1 || !strings.Contains(lines[0], c.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 and one line with %q", c.args, r.code, r.stderr, c.want)
		}
	}
}

// TestCertifyInterrupted: a certification run stopped by SIGINT still
// writes its bundle; the bundle verifies as intact and says incomplete.
func TestCertifyInterrupted(t *testing.T) {
	dir := t.TempDir()
	config, hanging := hangRuntime(t, dir)
	bundle := filepath.Join(dir, "bundle")
	cmd := exec.Command(bin, "certify", "--runtime-config", config, "--runtime", "hang-runtime", "--out", bundle, "--timeout", "10m")
	var stdout bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	for waited := 0; ; waited++ {
		if _, err := os.Stat(hanging); err == nil {
			break
		}
		if waited == 600 {
			cmd.Process.Kill()
			t.Fatalf("the runtime never hung:\n%s", stdout.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	cmd.Process.Signal(os.Interrupt)
	select {
	case err := <-done:
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != exitInterrupted {
			t.Errorf("interrupted certify ended with %v, want exit %d\n%s", err, exitInterrupted, stdout.String())
		}
	case <-time.After(2 * time.Minute):
		cmd.Process.Kill()
		t.Fatalf("certify did not end after the interrupt:\n%s", stdout.String())
	}
	r := wasicert(t, "verify", bundle)
	if r.code != exitFail || !strings.Contains(r.stdout, "intact") || !strings.Contains(r.stdout, "INCOMPLETE") {
		t.Errorf("verify of the interrupted bundle: exit %d, want 1, intact and INCOMPLETE\n%s%s", r.code, r.stdout, r.stderr)
	}
	var cert certify.Certificate
	readJSON(t, filepath.Join(bundle, "certificate.json"), &cert)
	if cert.Complete || !strings.Contains(cert.Incomplete, "interrupted") {
		t.Errorf("certificate: complete %v, incomplete %q; want the interrupt named", cert.Complete, cert.Incomplete)
	}
}
