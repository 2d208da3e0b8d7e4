package main

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"

	"github.com/wasicert/wasicert/certify"
	"github.com/wasicert/wasicert/ci/kubernetes"
	"github.com/wasicert/wasicert/internal/ctrtest"
	"github.com/wasicert/wasicert/records"
)

// TestKubernetesManifestsCertifyFlags: the command the in-cluster manifests
// run (ci/kubernetes) is one that `wasicert certify` accepts, flag by flag:
// a renamed or removed flag breaks this test, not a cluster's run.
func TestKubernetesManifestsCertifyFlags(t *testing.T) {
	objs, err := kubernetes.ReadObjects("../../ci/kubernetes/daemonset.yaml")
	if err != nil {
		t.Fatal(err)
	}
	plugin, err := kubernetes.ReadSonobuoyPlugin("../../ci/kubernetes/wasicert.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cmds := map[string][]string{"wasicert.yaml": plugin.Spec.Args}
	for _, o := range objs {
		if ds, ok := o.(*appsv1.DaemonSet); ok {
			cmds["daemonset.yaml"] = ds.Spec.Template.Spec.Containers[0].Args
		}
	}
	if len(cmds) != 2 {
		t.Fatalf("found the commands of %d manifests, want 2", len(cmds))
	}
	for file, args := range cmds {
		if len(args) == 0 || args[0] != "certify" {
			t.Errorf("%s: runs %q, not certify", file, args)
			continue
		}
		// -h last: every flag before it must parse first.
		code, err := cmdCertify(append(args[1:len(args):len(args)], "-h"), io.Discard, io.Discard)
		if err != nil || code != exitPass {
			t.Errorf("%s: wasicert certify %s: exit %d: %v", file, strings.Join(args[1:], " "), code, err)
		}
	}
	// The negative control: a flag certify does not know fails the parse.
	if code, err := cmdCertify([]string{"--runtime-handlr=wazero", "-h"}, io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), "runtime-handlr") {
		t.Errorf("an unknown flag parsed: exit %d, %v", code, err)
	}
}

// TestKubernetesEntrypoint runs the sonobuoy plugin's command (wasicert.yaml)
// as its pod would, against containerd 2's CRI with our shim as handler
// wazero (ci/kubernetes/cri.sh), the pod's paths moved to temp dirs: the
// bundle is written, the done file names it and holds the JUnit report
// sonobuoy reads, --hold keeps the process until SIGTERM, and the daemon is
// left with nothing (stop.sh). As root; about a minute.
func TestKubernetesEntrypoint(t *testing.T) {
	if r := ctrtest.SkipReason(); r != "" {
		t.Skip(r)
	}
	plugin, err := kubernetes.ReadSonobuoyPlugin("../../ci/kubernetes/wasicert.yaml")
	if err != nil {
		t.Fatal(err)
	}
	d, err := ctrtest.StartCRI("2", "")
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := d.Stop(); err != nil {
			t.Errorf("leftovers: %v", err)
		}
	}()
	results, work := t.TempDir(), t.TempDir()
	move := func(s string) string {
		s = strings.ReplaceAll(s, kubernetes.SonobuoyResultsDir, results)
		s = strings.ReplaceAll(s, "/var/lib/wasicert", work)
		if v, ok := strings.CutPrefix(s, "--cri-endpoint="); ok && strings.HasPrefix(v, "unix://") {
			s = "--cri-endpoint=unix://" + d.Address
		}
		return s
	}
	var args, env []string
	for _, a := range plugin.Spec.Args {
		args = append(args, move(a))
	}
	const node = "wasicert-test-node"
	for _, e := range plugin.Spec.Env {
		v := move(e.Value)
		if f := e.ValueFrom; f != nil && f.FieldRef != nil && f.FieldRef.FieldPath == "spec.nodeName" {
			v = node // the downward API
		}
		env = append(env, e.Name+"="+v)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	done := filepath.Join(results, "done")
	deadline := time.After(5 * time.Minute)
	for {
		if _, err := os.Stat(done); err == nil {
			break
		}
		select {
		case err := <-exited:
			t.Fatalf("certify exited (%v) before writing the done file:\n%s", err, out.String())
		case <-deadline:
			_ = cmd.Process.Kill()
			t.Fatalf("no done file after 5 minutes:\n%s", out.String())
		case <-time.After(200 * time.Millisecond):
		}
	}
	b, err := os.ReadFile(done)
	if err != nil {
		t.Fatal(err)
	}
	bundle := string(b)
	if bundle != filepath.Join(results, "wasicert") {
		t.Errorf("the done file names %q, want the bundle %s", bundle, filepath.Join(results, "wasicert"))
	}
	var suites struct {
		XMLName xml.Name `xml:"testsuites"`
		Suites  []struct {
			Tests int `xml:"tests,attr"`
		} `xml:"testsuite"`
	}
	junit, err := os.ReadFile(filepath.Join(bundle, plugin.SonobuoyConfig.ResultFiles[0]))
	if err != nil {
		t.Fatalf("the bundle lacks the result file sonobuoy reads: %v", err)
	}
	if err := xml.Unmarshal(junit, &suites); err != nil || len(suites.Suites) == 0 || suites.Suites[0].Tests == 0 {
		t.Errorf("junit.xml is not a JUnit report with tests: %v", err)
	}
	// Each node's records name it, so `wasicert compare` over the nodes'
	// records keeps one set per node.
	if recs, err := records.Read(filepath.Join(bundle, certify.FileRecords)); err != nil || len(recs) == 0 || recs[0].Env.Node != node {
		t.Errorf("the bundle's records do not name the node %q (from spec.nodeName): %v", node, err)
	}
	select {
	case err := <-exited:
		t.Fatalf("--hold: certify exited (%v) after writing the bundle; a DaemonSet would restart it", err)
	case <-time.After(time.Second):
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-exited:
		var ee *exec.ExitError
		if err != nil && (!errors.As(err, &ee) || ee.ExitCode() != exitFail) {
			t.Errorf("after SIGTERM: %v", err)
		}
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		t.Errorf("--hold: certify did not exit within 10 s of SIGTERM")
	}
	t.Logf("%s", lastLines(out.String(), 3))
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
