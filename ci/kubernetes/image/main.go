// Command image builds the image the manifests in ci/kubernetes run,
// localhost/wasicert:dev: one layer holding a static wasicert (CGO_ENABLED=0)
// at /wasicert and an empty /tmp, entrypoint /wasicert, as an OCI layout
// tarball (package ociimage), without a registry or a container builder.
// Load it onto every node, e.g.
//
//	go run ./ci/kubernetes/image -o wasicert.tar
//	ctr -n k8s.io images import wasicert.tar      # on each node
package main

import (
	"archive/tar"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/wasicert/wasicert/internal/ociimage"
	"github.com/wasicert/wasicert/internal/repo"
)

func main() {
	out := flag.String("o", "wasicert.tar", "write the OCI layout tarball to `FILE`")
	name := flag.String("name", "localhost/wasicert:dev", "the image `REF` (the manifests' image)")
	arch := flag.String("arch", runtime.GOARCH, "the nodes' `GOARCH`")
	flag.Parse()
	if err := build(*out, *name, *arch); err != nil {
		fmt.Fprintln(os.Stderr, "image:", err)
		os.Exit(1)
	}
}

func build(out, name, arch string) error {
	root, ok := repo.Root()
	if !ok {
		return fmt.Errorf("run it from a wasicert source checkout (go run ./ci/kubernetes/image)")
	}
	dir, err := os.MkdirTemp("", "wasicert-image-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "wasicert")
	cmd := exec.Command("go", "build", "-trimpath", "-o", bin, "./cmd/wasicert")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+arch)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build ./cmd/wasicert: %w", err)
	}
	b, err := os.ReadFile(bin)
	if err != nil {
		return err
	}
	layout, desc, err := ociimage.Build(ociimage.Options{
		Name: name, Module: b, Path: "/wasicert",
		Platform: &ocispec.Platform{OS: "linux", Architecture: arch},
		Files:    []ociimage.File{{Path: "/tmp", Type: tar.TypeDir, Mode: 0o1777}},
	})
	if err != nil {
		return err
	}
	if err := os.WriteFile(out, layout, 0o644); err != nil {
		return err
	}
	fmt.Printf("%s %s (linux/%s, %d bytes) -> %s\n", name, desc.Digest, arch, len(layout), out)
	return nil
}
