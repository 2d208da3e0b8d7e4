// Package kubernetes holds the manifests that certify a cluster's wasm
// runtime handler on every node (ci/kubernetes/*.yaml) and the schema its
// tests decode them with; no cluster runs here, see README.md.
package kubernetes

import (
	corev1 "k8s.io/api/core/v1"
)

// SonobuoyPlugin is sonobuoy's plugin manifest, the file `sonobuoy run
// --plugin FILE` reads: a strict mirror of manifest.Manifest in
// https://github.com/vmware-tanzu/sonobuoy/blob/main/pkg/plugin/manifest/manifest.go
// (that module pins Kubernetes 0.27 and a CLI's dependencies; its type
// embeds the same core/v1 Container and Volume).
type SonobuoyPlugin struct {
	SonobuoyConfig SonobuoyConfig    `json:"sonobuoy-config"`
	Spec           corev1.Container  `json:"spec"`
	ExtraVolumes   []corev1.Volume   `json:"extra-volumes,omitempty"`
	PodSpec        *corev1.PodSpec   `json:"podSpec,omitempty"`
	ConfigMap      map[string]string `json:"config-map,omitempty"`
}

// SonobuoyConfig is manifest.SonobuoyConfig, the plugin's sonobuoy metadata.
type SonobuoyConfig struct {
	// Driver is "Job" (one pod) or "DaemonSet" (one pod per node).
	Driver string `json:"driver"`
	// PluginName names the plugin and its results dir.
	PluginName  string `json:"plugin-name"`
	SkipCleanup bool   `json:"skip-cleanup,omitempty"`
	// ResultFormat is one of ResultFormats: how the aggregator
	// post-processes the results.
	ResultFormat string `json:"result-format,omitempty"`
	// ResultFiles restricts post-processing to files of these names.
	ResultFiles []string `json:"result-files,omitempty"`
	Description string   `json:"description,omitempty"`
	SourceURL   string   `json:"source-url,omitempty"`
	Order       int      `json:"order,omitempty"`
}

// ResultFormats are the result-format values sonobuoy post-processes
// (pkg/client/results/processing.go).
var ResultFormats = []string{"junit", "e2e", "gojson", "raw", "manual"}

// Drivers are the sonobuoy-config driver values (pkg/plugin/driver).
var Drivers = []string{"Job", "DaemonSet"}

// SonobuoyResultsDir is where sonobuoy's worker collects a plugin's results
// (the default of SONOBUOY_RESULTS_DIR), and DoneFile the file whose
// content, a path, tells the worker that the results are complete: a file,
// or a directory it tars (pkg/worker/worker.go).
const (
	SonobuoyResultsDir = "/tmp/sonobuoy/results"
	DoneFile           = SonobuoyResultsDir + "/done"
)
