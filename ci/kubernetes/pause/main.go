// Command pause imports the wasm pause image into a containerd's "k8s.io"
// namespace, where its CRI plugin finds the sandbox image it is configured
// with (ci/kubernetes/cri.sh): a FROM-scratch wasi/wasm32 image whose
// entrypoint is pause.wasm, built with package ociimage, no registry.
//
//	go run ./ci/kubernetes/pause -address /tmp/wcd.x/containerd.sock -name wasicert.local/pause:wasm
package main

import (
	"bytes"
	"context"
	_ "embed"
	"flag"
	"fmt"
	"os"
	"time"

	containerd "github.com/containerd/containerd"
	"github.com/containerd/containerd/namespaces"
	"github.com/containerd/platforms"

	"github.com/wasicert/wasicert/internal/ociimage"
)

//go:embed pause.wasm
var pause []byte

func main() {
	addr := flag.String("address", "", "containerd's socket")
	snapshotter := flag.String("snapshotter", "native", "unpack the image for this `SNAPSHOTTER` (the CRI's): a sandbox image is not unpacked on demand")
	name := flag.String("name", "wasicert.local/pause:wasm", "the image `REF`")
	flag.Parse()
	if err := run(*addr, *name, *snapshotter); err != nil {
		fmt.Fprintln(os.Stderr, "pause:", err)
		os.Exit(1)
	}
}

func run(addr, name, snapshotter string) error {
	layout, _, err := ociimage.Build(ociimage.Options{Name: name, Module: pause, Path: "/pause.wasm"})
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
		if err := containerd.NewImageWithPlatform(c, im, platforms.Only(ociimage.Platform)).Unpack(ctx, snapshotter); err != nil {
			return fmt.Errorf("unpack %s for %s: %w", name, snapshotter, err)
		}
		fmt.Println(im.Name, im.Target.Digest)
		return nil
	}
	return fmt.Errorf("import %s: the layout holds no image of that name", name)
}
