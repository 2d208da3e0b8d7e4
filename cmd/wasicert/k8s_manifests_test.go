package main

import (
	"io"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"

	"github.com/wasicert/wasicert/ci/kubernetes"
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
