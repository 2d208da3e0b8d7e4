package cri_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/wasicert/wasicert/internal/ctrtest"
	"github.com/wasicert/wasicert/runners"
	"github.com/wasicert/wasicert/runners/cri"
	criapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// TestRegistryImages runs a pod whose image the runtime pulled with the
// CRI's PullImage from the runner's own registry (Options.Images =
// registry, the path for a CRI runtime that is not containerd), on
// containerd 2.2.9's CRI (it pulls from a localhost registry over plain
// HTTP), with host-network pods so the daemon shares the runner's
// loopback; and checks that the image is gone after Close.
func TestRegistryImages(t *testing.T) {
	if r := ctrtest.SkipReason(); r != "" {
		t.Skip(r)
	}
	t.Setenv(cri.EnvNetwork, "host")
	d := ctrtest.StartCRIFor(t, "2", ctrtest.BuildShim(t))
	r, err := cri.New(cri.Options{Endpoint: "unix://" + d.Address, RuntimeHandler: "wazero", StateDir: t.TempDir(),
		HostNetwork: true, Images: cri.ImagesRegistry})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res, err := r.Run(ctx, runners.Invocation{Module: module(t, "hello"), Args: []string{"/hello.wasm"}, Timeout: 20 * time.Second})
	if err != nil || res.ExitCode != 7 || !strings.Contains(string(res.Stdout), "hello") {
		t.Errorf("a pod of a pulled image: %s %v", res, err)
	}
	_, img, done := criClient(t, d.Address)
	defer done()
	list, err := img.ListImages(ctx, &criapi.ListImagesRequest{})
	if err != nil {
		t.Fatal(err)
	}
	pulled := false
	for _, im := range list.Images {
		for _, tag := range im.RepoTags {
			pulled = pulled || strings.Contains(tag, "/wasicert/module/hello:")
		}
	}
	if !pulled {
		t.Errorf("no image of the runner's registry in the CRI's list: %v", list.Images)
	}
	checkNoPods(t, d.Address)
	if err := r.Close(); err != nil {
		t.Errorf("close: %v", err)
	}
	checkNoImages(t, d.Address)
}
