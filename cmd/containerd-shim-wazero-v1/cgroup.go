package main

import (
	"errors"
	"fmt"
	"path"
	"strings"

	"github.com/containerd/cgroups/v3"
	"github.com/containerd/cgroups/v3/cgroup1"
	"github.com/containerd/cgroups/v3/cgroup2"
	"github.com/containerd/typeurl/v2"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// taskCgroup is the container's cgroup, v1 or v2 as the host mounts them
// (a hybrid host, v1 controllers beside a v2 hierarchy, is v1, as runc
// treats it).
type taskCgroup struct {
	path string
	v1   cgroup1.Cgroup
	v2   *cgroup2.Manager
}

// cgroupPath turns the OCI spec's linux.cgroupsPath into a cgroup path.
// containerd's default spec gives "/<namespace>/<id>"; the CRI plugin with
// SystemdCgroup gives "slice:prefix:name", which becomes the path systemd
// would use ("/a.slice/a-b.slice/prefix-name.scope"), made directly: this
// shim does not talk to systemd. Empty: "/<namespace>/<id>", as containerd's
// runc shim defaults it.
func cgroupPath(p, ns, id string) (string, error) {
	if p == "" {
		return path.Join("/", ns, id), nil
	}
	if !strings.Contains(p, ":") {
		return path.Clean("/" + p), nil
	}
	parts := strings.Split(p, ":")
	if len(parts) != 3 {
		return "", fmt.Errorf("linux.cgroupsPath %q: want a path or slice:prefix:name", p)
	}
	slice, prefix, name := parts[0], parts[1], parts[2]
	if slice == "" {
		slice = "system.slice"
	}
	dir, err := expandSlice(slice)
	if err != nil {
		return "", err
	}
	unit := name
	if !strings.HasSuffix(name, ".slice") {
		unit = name + ".scope"
		if prefix != "" {
			unit = prefix + "-" + unit
		}
	}
	return path.Join(dir, unit), nil
}

// expandSlice: "a-b.slice" is "/a.slice/a-b.slice" (systemd.slice(5)).
func expandSlice(slice string) (string, error) {
	name, ok := strings.CutSuffix(slice, ".slice")
	if !ok || strings.Contains(name, "/") || name == "" {
		return "", fmt.Errorf("linux.cgroupsPath: %q is not a systemd slice", slice)
	}
	if name == "-" {
		return "/", nil
	}
	var out, prefix string
	for _, c := range strings.Split(name, "-") {
		if c == "" {
			return "", fmt.Errorf("linux.cgroupsPath: %q is not a systemd slice", slice)
		}
		out += "/" + prefix + c + ".slice"
		prefix += c + "-"
	}
	return out, nil
}

// newCgroup creates the cgroup at p with resources applied.
func newCgroup(p string, res *specs.LinuxResources) (*taskCgroup, error) {
	if res == nil {
		res = &specs.LinuxResources{}
	}
	if cgroups.Mode() == cgroups.Unified {
		m, err := cgroup2.NewManager("/sys/fs/cgroup", p, cgroup2.ToResources(res))
		if err != nil {
			return nil, fmt.Errorf("cgroup %s: %w", p, err)
		}
		return &taskCgroup{path: p, v2: m}, nil
	}
	cg, err := cgroup1.New(cgroup1.StaticPath(p), res)
	if err != nil {
		return nil, fmt.Errorf("cgroup %s: %w", p, err)
	}
	return &taskCgroup{path: p, v1: cg}, nil
}

func (c *taskCgroup) add(pid int) error {
	if c.v2 != nil {
		return c.v2.AddProc(uint64(pid))
	}
	return c.v1.AddProc(uint64(pid))
}

// stats are the cgroup's metrics as containerd's runc shim reports them:
// io.containerd.cgroups.v1.Metrics or io.containerd.cgroups.v2.Metrics.
func (c *taskCgroup) stats() (typeurl.Any, error) {
	if c.v2 != nil {
		st, err := c.v2.Stat()
		if err != nil {
			return nil, err
		}
		return typeurl.MarshalAny(st)
	}
	st, err := c.v1.Stat(cgroup1.IgnoreNotExist)
	if err != nil {
		return nil, err
	}
	return typeurl.MarshalAny(st)
}

// delete removes the cgroup; every process in it must have exited.
func (c *taskCgroup) delete() error {
	if c.v2 != nil {
		return c.v2.Delete()
	}
	err := c.v1.Delete()
	if errors.Is(err, cgroup1.ErrCgroupDeleted) {
		return nil
	}
	return err
}
