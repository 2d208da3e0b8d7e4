// Command pause imports the sandbox ("pause") image into a containerd's
// "k8s.io" namespace, where its CRI plugin finds the sandbox image it is
// configured with (ci/kubernetes/cri.sh): a Linux image like a cluster's
// (platform linux/GOARCH, built with package ociimage, no registry) whose
// only file and entrypoint is the tripwire binary of ./linux (package
// tripwire says what it leaves behind if it is ever run).
//
//	CGO_ENABLED=0 go build -o /tmp/wasicert-pause ./ci/kubernetes/pause/linux
//	go run ./ci/kubernetes/pause -address /tmp/wcd.x/containerd.sock -entrypoint /tmp/wasicert-pause
package main

import (
	"bytes"
	"context"
	"debug/elf"
	"errors"
	"flag"
	"fmt"
	"os"
	"runtime"
	"time"

	containerd "github.com/containerd/containerd"
	"github.com/containerd/containerd/namespaces"
	"github.com/containerd/platforms"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/wasicert/wasicert/ci/kubernetes/pause/tripwire"
	"github.com/wasicert/wasicert/internal/ociimage"
)

func main() {
	addr := flag.String("address", "", "containerd's socket")
	snapshotter := flag.String("snapshotter", "native", "unpack the image for this `SNAPSHOTTER` (the CRI's): a sandbox image is not unpacked on demand")
	name := flag.String("name", tripwire.Image, "the image `REF`")
	entry := flag.String("entrypoint", "", "the tripwire `BINARY` (a static Linux executable: CGO_ENABLED=0 go build ./ci/kubernetes/pause/linux)")
	flag.Parse()
	if err := run(*addr, *name, *snapshotter, *entry); err != nil {
		fmt.Fprintln(os.Stderr, "pause:", err)
		os.Exit(1)
	}
}

// static fails unless b is a statically linked ELF executable: the image
// has no libc or loader.
func static(b []byte) error {
	f, err := elf.NewFile(bytes.NewReader(b))
	if err != nil {
		return fmt.Errorf("not an ELF executable: %w", err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return errors.New("dynamically linked (build it with CGO_ENABLED=0)")
		}
	}
	return nil
}

func run(addr, name, snapshotter, entry string) error {
	bin, err := os.ReadFile(entry)
	if err != nil {
		return fmt.Errorf("-entrypoint: %w", err)
	}
	if err := static(bin); err != nil {
		return fmt.Errorf("-entrypoint %s: %w", entry, err)
	}
	plat := ocispec.Platform{OS: "linux", Architecture: runtime.GOARCH}
	layout, _, err := ociimage.Build(ociimage.Options{Name: name, Module: bin, Path: tripwire.Entrypoint, Platform: &plat})
	if err != nil {
		return err
	}
	c, err := containerd.New(addr, containerd.WithTimeout(5*time.Second))
	if err != nil {
		return err
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(namespaces.WithNamespace(context.Background(), "k8s.io"), 30*time.Second)
	defer cancel()
	imgs, err := c.Import(ctx, bytes.NewReader(layout), containerd.WithAllPlatforms(true),
		containerd.WithImageRefTranslator(func(string) string { return name }))
	if err != nil {
		return fmt.Errorf("import %s: %w", name, err)
	}
	for _, im := range imgs {
		if im.Name != name {
			continue
		}
		if err := containerd.NewImageWithPlatform(c, im, platforms.Only(plat)).Unpack(ctx, snapshotter); err != nil {
			return fmt.Errorf("unpack %s for %s: %w", name, snapshotter, err)
		}
		fmt.Println(im.Name, im.Target.Digest)
		return nil
	}
	return fmt.Errorf("import %s: the layout holds no image of that name", name)
}
