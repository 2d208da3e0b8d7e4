package containerd_test

import (
	"github.com/containerd/containerd/snapshots"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

type snapshotInfo = snapshots.Info

var ocispecPlatformLinux = ocispec.Platform{OS: "linux", Architecture: "amd64"}
