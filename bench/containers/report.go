package main

import (
	"fmt"
	"github.com/wasicert/wasicert/bench/internal/stats"
	"strings"
	"time"
)

// Sample is one run of one kind.
type Sample struct {
	// Phases, wall time seen by the Go client.
	Create     time.Duration `json:"create_ns"`      // NewContainer: snapshot prepare + spec + metadata
	NewTask    time.Duration `json:"new_task_ns"`    // NewTask: shim started, task created (runc create / module compiled)
	Start      time.Duration `json:"start_ns"`       // Wait registered + Start
	Exit       time.Duration `json:"exit_ns"`        // Start returned until the exit event
	DeleteTask time.Duration `json:"delete_task_ns"` // task Delete (IO drained, shim shut down)
	DeleteCtr  time.Duration `json:"delete_ctr_ns"`  // container Delete + snapshot removal
	ToExit     time.Duration `json:"to_exit_ns"`     // create .. exit
	Total      time.Duration `json:"total_ns"`       // cold start: create .. container deleted (memory reading excluded)
	ShimPeak   int64         `json:"shim_vmhwm_bytes"`
	CgroupPeak int64         `json:"cgroup_peak_bytes,omitempty"`
	CgroupFile string        `json:"cgroup_peak_file,omitempty"`
}

// ImageSize in bytes.
type ImageSize struct {
	LayerTar     int64 `json:"layer_tar"`              // the layer as stored (uncompressed tar)
	LayerGzip    int64 `json:"layer_gzip9"`            // the layer gzip -9'd (what a registry would usually hold)
	Config       int64 `json:"config"`                 // image config JSON
	Manifest     int64 `json:"manifest"`               // image manifest JSON
	Compressed   int64 `json:"compressed"`             // LayerGzip + Config + Manifest
	Stored       int64 `json:"stored"`                 // manifest + config + layer blobs in containerd's content store
	Files        int64 `json:"unpacked_file_bytes"`    // regular files' sizes in the layer
	SnapshotDisk int64 `json:"unpacked_snapshot_disk"` // snapshotter Usage of the unpacked image (disk blocks)
}

// Stats over the measured runs, in milliseconds or bytes.
type Stats = stats.Stats

// KindResult is one kind (wasm or runc) on one daemon.
type KindResult struct {
	Runtime        string            `json:"runtime"`
	Image          string            `json:"image"`
	Platform       string            `json:"platform"`
	Entrypoint     []string          `json:"entrypoint"`
	Size           ImageSize         `json:"image_size"`
	ShimBinary     string            `json:"shim_binary"`
	ShimBinarySize int64             `json:"shim_binary_size"`
	ColdStartMS    Stats             `json:"cold_start_ms"`
	ToExitMS       Stats             `json:"create_to_exit_ms"`
	PhasesMS       map[string]Stats  `json:"phases_ms"`
	ShimPeak       Stats             `json:"shim_vmhwm_bytes"`
	CgroupPeak     *Stats            `json:"cgroup_peak_bytes,omitempty"`
	TotalPeak      Stats             `json:"total_peak_bytes"`
	First          *Sample           `json:"first_run,omitempty"`
	Samples        []Sample          `json:"samples"`
	Extra          map[string]string `json:"extra,omitempty"`
}

// DaemonResult is one containerd.
type DaemonResult struct {
	Asked           string     `json:"asked"`
	Server          string     `json:"containerd_version"`
	WasmShimVersion string     `json:"wasm_shim_version"`
	RuncShimVersion string     `json:"runc_shim_version"`
	Wasm            KindResult `json:"wasm"`
	Runc            KindResult `json:"runc"`
	// Docker is the same pair through a private dockerd on this
	// containerd (-docker; containerd 2 only).
	Docker *EngineResult `json:"docker,omitempty"`
}

// Machine describes where it ran.
type Machine struct {
	NProc    int    `json:"nproc"`
	Arch     string `json:"arch"`
	Kernel   string `json:"kernel"`
	OS       string `json:"os"`
	CPU      string `json:"cpu"`
	MemTotal int64  `json:"mem_total_bytes"`
	Cgroup   string `json:"cgroup"`
	LoadAvg  string `json:"loadavg_at_start"`
}

// Report is the whole output.
type Report struct {
	Date      string         `json:"date"`
	Machine   Machine        `json:"machine"`
	GoVersion string         `json:"go_version"`
	Runs      int            `json:"runs"`
	Warmup    int            `json:"warmup"`
	Snapshot  string         `json:"snapshotter"`
	Task      string         `json:"task"`
	Runc      string         `json:"runc"`
	RuncPath  string         `json:"runc_path"`
	Busybox   string         `json:"busybox"`
	Daemons   []DaemonResult `json:"daemons"`
}

func durStats(ss []Sample, f func(Sample) time.Duration) Stats {
	xs := make([]float64, len(ss))
	for i, s := range ss {
		xs[i] = stats.Ms(f(s))
	}
	return stats.Of(xs).Rounded(2)
}

func byteStats(ss []Sample, f func(Sample) int64) Stats {
	xs := make([]float64, len(ss))
	for i, s := range ss {
		xs[i] = float64(f(s))
	}
	return stats.Of(xs)
}

func (k *kind) result(haveFirst bool) KindResult {
	ep := k.spec.opts.Entrypoint
	if ep == nil {
		ep = []string{k.spec.opts.Path}
	}
	r := KindResult{
		Runtime:     k.spec.runtime,
		Image:       k.spec.name,
		Platform:    k.spec.platform.OS + "/" + k.spec.platform.Architecture,
		Entrypoint:  ep,
		Size:        k.size,
		ColdStartMS: durStats(k.samples, func(s Sample) time.Duration { return s.Total }),
		ToExitMS:    durStats(k.samples, func(s Sample) time.Duration { return s.ToExit }),
		PhasesMS: map[string]Stats{
			"create_container": durStats(k.samples, func(s Sample) time.Duration { return s.Create }),
			"create_task":      durStats(k.samples, func(s Sample) time.Duration { return s.NewTask }),
			"start":            durStats(k.samples, func(s Sample) time.Duration { return s.Start }),
			"run_to_exit":      durStats(k.samples, func(s Sample) time.Duration { return s.Exit }),
			"delete_task":      durStats(k.samples, func(s Sample) time.Duration { return s.DeleteTask }),
			"delete_container": durStats(k.samples, func(s Sample) time.Duration { return s.DeleteCtr }),
		},
		ShimPeak:  byteStats(k.samples, func(s Sample) int64 { return s.ShimPeak }),
		TotalPeak: byteStats(k.samples, func(s Sample) int64 { return s.ShimPeak + s.CgroupPeak }),
		Samples:   k.samples,
	}
	st := byteStats(k.samples, func(s Sample) int64 { return s.CgroupPeak })
	r.CgroupPeak = &st
	if haveFirst {
		f := k.first
		r.First = &f
	}
	return r
}

func mib(b float64) string { return fmt.Sprintf("%.1f MiB", b/(1024*1024)) }

func size(b int64) string {
	switch {
	case b < 10*1024:
		return fmt.Sprintf("%d B", b)
	case b < 10*1024*1024:
		return fmt.Sprintf("%.0f KiB", float64(b)/1024)
	default:
		return fmt.Sprintf("%.1f MiB", float64(b)/(1024*1024))
	}
}

func ratio(runc, wasm float64) string {
	if wasm == 0 {
		return "n/a"
	}
	r := runc / wasm
	switch {
	case r >= 100:
		return fmt.Sprintf("%.0f×", r)
	case r >= 10:
		return fmt.Sprintf("%.1f×", r)
	default:
		return fmt.Sprintf("%.2f×", r)
	}
}

// Markdown renders the report.
func (r Report) Markdown() string {
	var b strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	p("## bench-containers: wasm (our shim) vs Linux (runc) on one containerd\n\n")
	p("Task: %s. wasm: `hello.wasm` through `io.containerd.wazero.v1`; Linux: static `busybox echo hello` (%s) through `io.containerd.runc.v2` + %s. Both images FROM scratch, one uncompressed layer, built locally with the image-spec types and imported with the containerd Go client; snapshotter `%s`.\n\n",
		r.Task, r.Busybox, r.Runc, r.Snapshot)
	p("Machine: %d CPUs (%s), %s, kernel %s, %s RAM, cgroup %s, load average %s at start; %s; %s. %d measured runs of each kind, interleaved wasm/runc, after %d unmeasured warm-up run(s) of each.\n\n",
		r.Machine.NProc, r.Machine.CPU, r.Machine.OS, r.Machine.Kernel, size(r.Machine.MemTotal), r.Machine.Cgroup, r.Machine.LoadAvg, r.GoVersion, r.Date, r.Runs, r.Warmup)
	for _, d := range r.Daemons {
		w, l := d.Wasm, d.Runc
		p("### containerd %s\n\n", d.Server)
		p("| measure | wasm (wazero shim) | Linux (runc + busybox) | runc / wasm |\n")
		p("|---|---:|---:|---:|\n")
		row := func(name, a, bb, rt string) { p("| %s | %s | %s | %s |\n", name, a, bb, rt) }
		row("image: compressed (layer gzip -9 + config + manifest)", size(w.Size.Compressed), size(l.Size.Compressed), ratio(float64(l.Size.Compressed), float64(w.Size.Compressed)))
		row("image: as stored (uncompressed layer + config + manifest)", size(w.Size.Stored), size(l.Size.Stored), ratio(float64(l.Size.Stored), float64(w.Size.Stored)))
		row("image: unpacked (file bytes)", size(w.Size.Files), size(l.Size.Files), ratio(float64(l.Size.Files), float64(w.Size.Files)))
		row("cold start, median", fmt.Sprintf("%.1f ms", w.ColdStartMS.Median), fmt.Sprintf("%.1f ms", l.ColdStartMS.Median), ratio(l.ColdStartMS.Median, w.ColdStartMS.Median))
		row("cold start, p90", fmt.Sprintf("%.1f ms", w.ColdStartMS.P90), fmt.Sprintf("%.1f ms", l.ColdStartMS.P90), ratio(l.ColdStartMS.P90, w.ColdStartMS.P90))
		row("create → exit, median", fmt.Sprintf("%.1f ms", w.ToExitMS.Median), fmt.Sprintf("%.1f ms", l.ToExitMS.Median), ratio(l.ToExitMS.Median, w.ToExitMS.Median))
		row("peak memory: shim VmHWM, median", mib(w.ShimPeak.Median), mib(l.ShimPeak.Median), ratio(l.ShimPeak.Median, w.ShimPeak.Median))
		cg := func(r KindResult) string {
			if r.CgroupPeak == nil {
				return "—"
			}
			return mib(r.CgroupPeak.Median)
		}
		// Our shim's guest process joins the cgroup after its exec: what it
		// touched before is charged to the shim's cgroup (cgroup v1 moves no
		// charges), so this understates the guest process.
		row("peak memory: container cgroup, median", cg(w)+" (charged after the guest process joined it)", cg(l), "")
		row("peak memory: shim + container, median", mib(w.TotalPeak.Median), mib(l.TotalPeak.Median), ratio(l.TotalPeak.Median, w.TotalPeak.Median))
		p("\n")
		p("Cold-start phases, median ms (wasm / runc): ")
		var parts []string
		for _, ph := range []string{"create_container", "create_task", "start", "run_to_exit", "delete_task", "delete_container"} {
			parts = append(parts, fmt.Sprintf("%s %.1f / %.1f", strings.ReplaceAll(ph, "_", " "), w.PhasesMS[ph].Median, l.PhasesMS[ph].Median))
		}
		p("%s. ", strings.Join(parts, "; "))
		p("Cold start min–max: wasm %.1f–%.1f ms, runc %.1f–%.1f ms.", w.ColdStartMS.Min, w.ColdStartMS.Max, l.ColdStartMS.Min, l.ColdStartMS.Max)
		if w.First != nil && l.First != nil {
			p(" First (warm-up) run: wasm %.1f ms, runc %.1f ms.", stats.Ms(w.First.Total), stats.Ms(l.First.Total))
		}
		p("\n\n")
		p("Runtime binaries (on the host, not in the images): wasm shim `containerd-shim-wazero-v1` %s (this repo, containerd shim library %s); runc shim `%s` %s (%s) + `%s` %s (%s).\n\n",
			size(w.ShimBinarySize), d.WasmShimVersion, l.ShimBinary, size(l.ShimBinarySize), d.RuncShimVersion, r.RuncPath, size(fileSize(r.RuncPath)), r.Runc)
		if d.Docker != nil {
			d.Docker.markdown(p, d)
		}
	}
	return b.String()
}

// markdown renders the Docker pair beside the containerd one.
func (e *EngineResult) markdown(p func(string, ...any), d DaemonResult) {
	w, l := e.Wasm, e.Runc2
	p("### Docker %s (API %s) on containerd %s\n\n", e.Dockerd, e.API, d.Server)
	p("`docker run --rm --runtime=%s --platform=wasi/wasm32 %s` vs `docker run --rm %s` (the engine's default runtime `%s`: %s, `%s`), through the Go client as the CLI does it (create with AutoRemove, attach, wait for removal, start); both images loaded with `docker load`. Cold start: create .. container removed.\n\n",
		w.Runtime, w.Image, l.Image, e.DefaultRuntime, e.Runc, e.RuncPath)
	p("| measure | docker + wasm (wazero shim) | docker + Linux (runc + busybox) | runc / wasm |\n")
	p("|---|---:|---:|---:|\n")
	row := func(name, a, bb, rt string) { p("| %s | %s | %s | %s |\n", name, a, bb, rt) }
	row("image: as the engine reports it (docker image inspect Size)", size(w.Size.Stored), size(l.Size.Stored), ratio(float64(l.Size.Stored), float64(w.Size.Stored)))
	row("cold start, median", fmt.Sprintf("%.1f ms", w.ColdStartMS.Median), fmt.Sprintf("%.1f ms", l.ColdStartMS.Median), ratio(l.ColdStartMS.Median, w.ColdStartMS.Median))
	row("cold start, p90", fmt.Sprintf("%.1f ms", w.ColdStartMS.P90), fmt.Sprintf("%.1f ms", l.ColdStartMS.P90), ratio(l.ColdStartMS.P90, w.ColdStartMS.P90))
	row("create → exit event, median", fmt.Sprintf("%.1f ms", w.ToExitMS.Median), fmt.Sprintf("%.1f ms", l.ToExitMS.Median), ratio(l.ToExitMS.Median, w.ToExitMS.Median))
	cg := func(r KindResult) string {
		if r.CgroupPeak == nil {
			return "—"
		}
		return mib(r.CgroupPeak.Median)
	}
	row("peak memory: shim VmHWM, median", mib(w.ShimPeak.Median), mib(l.ShimPeak.Median), ratio(l.ShimPeak.Median, w.ShimPeak.Median))
	row("peak memory: container cgroup, median", cg(w), cg(l), "")
	row("peak memory: shim + container, median", mib(w.TotalPeak.Median), mib(l.TotalPeak.Median), ratio(l.TotalPeak.Median, w.TotalPeak.Median))
	p("\n")
	var parts []string
	for _, ph := range []string{"create", "start", "run_to_exit", "remove"} {
		parts = append(parts, fmt.Sprintf("%s %.1f / %.1f", strings.ReplaceAll(ph, "_", " "), w.PhasesMS[ph].Median, l.PhasesMS[ph].Median))
	}
	p("Phases, median ms (wasm / runc): %s. Cold start min–max: wasm %.1f–%.1f ms, runc %.1f–%.1f ms.", strings.Join(parts, "; "), w.ColdStartMS.Min, w.ColdStartMS.Max, l.ColdStartMS.Min, l.ColdStartMS.Max)
	if w.First != nil && l.First != nil {
		p(" First (warm-up) run: wasm %.1f ms, runc %.1f ms.", stats.Ms(w.First.Total), stats.Ms(l.First.Total))
	}
	if n := e.MemoryMissed["wasm"] + e.MemoryMissed["runc"]; n > 0 {
		p(" Memory not caught before the engine deleted the task in %d wasm and %d runc run(s); left out of the memory medians.", e.MemoryMissed["wasm"], e.MemoryMissed["runc"])
	}
	p(" Shims: `%s`, `%s`.\n\n", w.ShimBinary, l.ShimBinary)
}
