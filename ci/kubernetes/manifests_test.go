// Tests of the in-cluster certification manifests: every manifest decodes
// strictly into the k8s.io/api types (sonobuoy's plugin into its manifest
// schema), the strict decoders refuse what a typo makes, and the
// manifests agree with each other and with what wasicert needs on a node.
package kubernetes

import (
	"path"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	nodev1 "k8s.io/api/node/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/wasicert/wasicert/certify"
)

func manifests(t *testing.T) (*nodev1.RuntimeClass, *appsv1.DaemonSet, *corev1.Namespace, *SonobuoyPlugin) {
	t.Helper()
	objs, err := ReadObjects("runtimeclass.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 1 {
		t.Fatalf("runtimeclass.yaml: %d objects, want 1", len(objs))
	}
	rc, ok := objs[0].(*nodev1.RuntimeClass)
	if !ok {
		t.Fatalf("runtimeclass.yaml holds a %T", objs[0])
	}
	objs, err = ReadObjects("daemonset.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var ds *appsv1.DaemonSet
	var ns *corev1.Namespace
	for _, o := range objs {
		switch o := o.(type) {
		case *appsv1.DaemonSet:
			ds = o
		case *corev1.Namespace:
			ns = o
		default:
			t.Fatalf("daemonset.yaml holds an unexpected %T", o)
		}
	}
	if ds == nil || ns == nil {
		t.Fatal("daemonset.yaml needs a Namespace and a DaemonSet")
	}
	p, err := ReadSonobuoyPlugin("wasicert.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return rc, ds, ns, p
}

// flagValue returns the value of --name=VALUE in args.
func flagValue(args []string, name string) (string, bool) {
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, "--"+name+"="); ok {
			return v, true
		}
	}
	return "", false
}

func envValue(c corev1.Container, name string) string {
	for _, e := range c.Env {
		if e.Name == name {
			return e.Value
		}
	}
	return ""
}

// under reports whether p is dir or below it.
func under(p, dir string) bool {
	p, dir = path.Clean(p), path.Clean(dir)
	return p == dir || strings.HasPrefix(p, dir+"/")
}

// checkCertifyContainer checks what wasicert needs on a node: certify on
// the cri runner against the handler, and every host path it hands the CRI
// runtime (the socket, the fixture dir, the CRI log dir) inside a hostPath
// volume mounted at the same path as on the node, since the runtime
// resolves them on the node.
func checkCertifyContainer(t *testing.T, what string, c corev1.Container, vols []corev1.Volume, handler string) {
	t.Helper()
	if len(c.Command) != 1 || c.Command[0] != "/wasicert" || len(c.Args) == 0 || c.Args[0] != "certify" {
		t.Errorf("%s: runs %q %q, want /wasicert certify ...", what, c.Command, c.Args)
	}
	for name, want := range map[string]string{"runtime": "cri", "runtime-handler": handler} {
		if v, _ := flagValue(c.Args, name); v != want {
			t.Errorf("%s: --%s=%q, want %q", what, name, v, want)
		}
	}
	if _, ok := flagValue(c.Args, "out"); !ok {
		t.Errorf("%s: no --out", what)
	}
	if !slices.Contains(c.Args, "--hold") {
		t.Errorf("%s: no --hold: a DaemonSet restarts a pod whose container exits, and certifies again", what)
	}
	byName := map[string]corev1.Volume{}
	for _, v := range vols {
		byName[v.Name] = v
	}
	sameOnNode := func(p string) bool {
		for _, m := range c.VolumeMounts {
			v, ok := byName[m.Name]
			if ok && v.HostPath != nil && path.Clean(v.HostPath.Path) == path.Clean(m.MountPath) && under(p, m.MountPath) {
				return true
			}
		}
		return false
	}
	endpoint, _ := flagValue(c.Args, "cri-endpoint")
	sock, ok := strings.CutPrefix(endpoint, "unix://")
	if !ok {
		t.Errorf("%s: --cri-endpoint=%q: want unix:///PATH", what, endpoint)
	}
	fixtures, _ := flagValue(c.Args, "fixture-dir")
	for name, p := range map[string]string{"the CRI socket": sock, "--fixture-dir": fixtures, "WASICERT_CRI_STATE_DIR": envValue(c, "WASICERT_CRI_STATE_DIR")} {
		if p == "" {
			t.Errorf("%s: %s is not set", what, name)
		} else if !sameOnNode(p) {
			t.Errorf("%s: %s %s is not in a hostPath volume mounted at its node path: the CRI runtime would not find it", what, name, p)
		}
	}
	for _, m := range c.VolumeMounts {
		if _, ok := byName[m.Name]; !ok {
			t.Errorf("%s: volumeMount %q names no volume", what, m.Name)
		}
	}
}

func TestManifestsDecodeStrictly(t *testing.T) {
	rc, ds, ns, p := manifests(t)
	if errs := validation.IsDNS1123Label(rc.Handler); len(errs) > 0 {
		t.Errorf("RuntimeClass handler %q: %v", rc.Handler, errs)
	}
	if rc.Handler != "wazero" {
		t.Errorf("RuntimeClass handler %q, want wazero (the runtime ci/kubernetes/cri.sh registers)", rc.Handler)
	}
	if ds.Namespace != ns.Name {
		t.Errorf("the DaemonSet is in namespace %q, the manifest makes %q", ds.Namespace, ns.Name)
	}
	if ns.Labels["pod-security.kubernetes.io/enforce"] != "privileged" {
		t.Errorf("namespace %s: hostPath volumes need pod-security.kubernetes.io/enforce=privileged", ns.Name)
	}
	sel := ds.Spec.Selector.MatchLabels
	for k, v := range sel {
		if ds.Spec.Template.Labels[k] != v {
			t.Errorf("the DaemonSet's selector %s=%s does not match its pod template", k, v)
		}
	}
	pod := ds.Spec.Template.Spec
	if len(pod.Containers) != 1 {
		t.Fatalf("the DaemonSet runs %d containers, want 1", len(pod.Containers))
	}
	checkCertifyContainer(t, "daemonset.yaml", pod.Containers[0], pod.Volumes, rc.Handler)

	// The sonobuoy plugin.
	cfg := p.SonobuoyConfig
	if !slices.Contains(Drivers, cfg.Driver) || cfg.Driver != "DaemonSet" {
		t.Errorf("wasicert.yaml: driver %q, want DaemonSet (one pod per node)", cfg.Driver)
	}
	if errs := validation.IsDNS1123Label(cfg.PluginName); len(errs) > 0 {
		t.Errorf("wasicert.yaml: plugin-name %q: %v", cfg.PluginName, errs)
	}
	if !slices.Contains(ResultFormats, cfg.ResultFormat) || cfg.ResultFormat != "junit" {
		t.Errorf("wasicert.yaml: result-format %q, want junit", cfg.ResultFormat)
	}
	if !slices.Equal(cfg.ResultFiles, []string{certify.FileJUnit}) {
		t.Errorf("wasicert.yaml: result-files %q, want [%s], the JUnit report of a certify bundle", cfg.ResultFiles, certify.FileJUnit)
	}
	// sonobuoy's DaemonSet driver adds the results volume itself
	// (pkg/plugin/driver/daemonset: an emptyDir named "results").
	vols := append([]corev1.Volume{{Name: "results", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}, p.ExtraVolumes...)
	checkCertifyContainer(t, "wasicert.yaml", p.Spec, vols, rc.Handler)
	out, _ := flagValue(p.Spec.Args, "out")
	done, _ := flagValue(p.Spec.Args, "done-file")
	if !under(out, SonobuoyResultsDir) || path.Clean(out) == SonobuoyResultsDir {
		t.Errorf("wasicert.yaml: --out=%s: want a dir under %s, where sonobuoy collects results", out, SonobuoyResultsDir)
	}
	if done != DoneFile {
		t.Errorf("wasicert.yaml: --done-file=%q, want %s: the sonobuoy worker waits for it", done, DoneFile)
	}
	if !slices.ContainsFunc(p.Spec.VolumeMounts, func(m corev1.VolumeMount) bool {
		return m.Name == "results" && path.Clean(m.MountPath) == SonobuoyResultsDir
	}) {
		t.Errorf("wasicert.yaml: the results volume is not mounted at %s", SonobuoyResultsDir)
	}
	// Both ways of certifying run the same command, bar where results go.
	strip := func(args []string) []string {
		return slices.DeleteFunc(slices.Clone(args), func(a string) bool {
			return strings.HasPrefix(a, "--out=") || strings.HasPrefix(a, "--done-file=")
		})
	}
	if a, b := strip(pod.Containers[0].Args), strip(p.Spec.Args); !slices.Equal(a, b) {
		t.Errorf("daemonset.yaml and wasicert.yaml certify differently:\n%q\n%q", a, b)
	}
}

// TestStrictDecodeRefuses is the negative control of the strict decoders:
// a misspelt field or a value of the wrong type, which a lenient decoder
// would drop or a cluster would refuse at apply time, is an error naming it.
func TestStrictDecodeRefuses(t *testing.T) {
	for _, tc := range []struct {
		name, doc, want string
		plugin          bool
	}{
		{"unknown field in a pod spec", `apiVersion: apps/v1
kind: DaemonSet
metadata: {name: x}
spec:
  selector: {matchLabels: {a: b}}
  template:
    metadata: {labels: {a: b}}
    spec:
      hostNetwrk: true
      containers: [{name: c, image: i}]
`, `unknown field "spec.template.spec.hostNetwrk"`, false},
		{"wrong type", `apiVersion: node.k8s.io/v1
kind: RuntimeClass
metadata: {name: x}
handler: [wazero]
`, "handler", false},
		{"duplicate field", `apiVersion: node.k8s.io/v1
kind: RuntimeClass
metadata: {name: x}
handler: wazero
handler: runc
`, `"handler"`, false},
		{"unknown kind", `apiVersion: node.k8s.io/v1
kind: RuntimeKlass
metadata: {name: x}
`, "RuntimeKlass", false},
		{"second document", `apiVersion: v1
kind: Namespace
metadata: {name: x}
---
apiVersion: v1
kind: Namespace
metadata: {name: y, lables: {a: b}}
`, `document 2 (Namespace)`, false},
		{"plugin: unknown field", "sonobuoy-config: {driver: DaemonSet, plugin-name: x, result-fromat: junit}\nspec: {name: p, image: i}\n", `unknown field "result-fromat"`, true},
		{"plugin: unknown container field", "sonobuoy-config: {driver: DaemonSet, plugin-name: x}\nspec: {name: p, image: i, comand: [x]}\n", `unknown field "comand"`, true},
		{"plugin: wrong type", "sonobuoy-config: {driver: DaemonSet, plugin-name: x, skip-cleanup: sometimes}\nspec: {name: p, image: i}\n", "skip-cleanup", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			if tc.plugin {
				_, err = DecodeSonobuoyPlugin([]byte(tc.doc))
			} else {
				_, err = DecodeObjects([]byte(tc.doc))
			}
			if err == nil {
				t.Fatalf("decoded without error; want one naming %s", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not name %s", err, tc.want)
			}
		})
	}
}
