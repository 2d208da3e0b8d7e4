package cri

// The registry image source: for a CRI runtime that is not containerd
// (CRI-O), or when asked (Options.Images = ImagesRegistry), the runner
// serves its probe images itself, read-only, over the OCI distribution
// API's pull endpoints on a loopback port, and the runtime pulls them with
// the CRI's own PullImage, as it would from any registry. containerd's CRI
// pulls from a localhost registry over plain HTTP
// (internal/cri/server/images/image_pull.go, defaultScheme); CRI-O needs
// the address listed as insecure in registries.conf.

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"strings"
	"sync"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

const (
	// EnvImages chooses how the runner provides its images: "import"
	// (containerd's own API on the CRI socket) or "registry" (served by the
	// runner, pulled through the CRI); default import on containerd,
	// registry otherwise.
	EnvImages = "WASICERT_CRI_IMAGES"
	// ImagesImport and ImagesRegistry are Options.Images' values.
	ImagesImport   = "import"
	ImagesRegistry = "registry"
	// EnvRegistryAddr is where the registry listens (Options.RegistryAddr).
	EnvRegistryAddr = "WASICERT_CRI_REGISTRY_ADDR"
)

// imagesFromEnv reads EnvImages.
func imagesFromEnv() (string, error) {
	switch v := os.Getenv(EnvImages); v {
	case "", ImagesImport, ImagesRegistry:
		return v, nil
	default:
		return "", fmt.Errorf("cri: %s=%q: want %s or %s", EnvImages, v, ImagesImport, ImagesRegistry)
	}
}

// registry serves OCI layouts' images read-only: GET and HEAD of
// /v2/, /v2/NAME/manifests/REF (a tag or a digest) and
// /v2/NAME/blobs/DIGEST.
type registry struct {
	ln  net.Listener
	srv *http.Server

	mu        sync.Mutex
	manifests map[string]content // "NAME:TAG" and "NAME@DIGEST"
	blobs     map[digest.Digest][]byte
}

type content struct {
	mediaType string
	data      []byte
}

// startRegistry listens on addr (default 127.0.0.1:0) and serves.
func startRegistry(addr string) (*registry, error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("cri runner: image registry on %s: %w (set %s to a free address)", addr, err, EnvRegistryAddr)
	}
	g := &registry{ln: ln, manifests: map[string]content{}, blobs: map[digest.Digest][]byte{}}
	g.srv = &http.Server{Handler: g}
	go func() { _ = g.srv.Serve(ln) }()
	return g, nil
}

// Host is the registry's host:port, as image references name it.
func (g *registry) Host() string { return g.ln.Addr().String() }

func (g *registry) Close() error { return g.srv.Close() }

// add serves the OCI layout tarball's image as name:tag (its index.json,
// whose manifests the runtime chooses from by platform) and returns the
// reference to pull.
func (g *registry) add(name, tag string, layout []byte) (string, error) {
	blobs := map[digest.Digest][]byte{}
	var index []byte
	tr := tar.NewReader(bytes.NewReader(layout))
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return "", fmt.Errorf("cri runner: image layout: %w", err)
		}
		b, err := io.ReadAll(io.LimitReader(tr, 256<<20))
		if err != nil {
			return "", fmt.Errorf("cri runner: image layout: %w", err)
		}
		switch {
		case h.Name == "index.json":
			index = b
		case strings.HasPrefix(h.Name, "blobs/sha256/"):
			d := digest.NewDigestFromEncoded(digest.SHA256, strings.TrimPrefix(h.Name, "blobs/sha256/"))
			if d.Validate() != nil || digest.FromBytes(b) != d {
				return "", fmt.Errorf("cri runner: image layout: blob %s does not match its digest", h.Name)
			}
			blobs[d] = b
		}
	}
	if index == nil {
		return "", errors.New("cri runner: image layout has no index.json")
	}
	index, err := withNodePlatform(index)
	if err != nil {
		return "", err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	idx := content{mediaType: mediaTypeOf(index), data: index}
	g.manifests[name+":"+tag] = idx
	g.manifests[name+"@"+digest.FromBytes(index).String()] = idx
	for d, b := range blobs {
		g.blobs[d] = b
		if mt := mediaTypeOf(b); strings.Contains(mt, "manifest") || strings.Contains(mt, "index") {
			g.manifests[name+"@"+d.String()] = content{mediaType: mt, data: b}
		}
	}
	return g.Host() + "/" + name + ":" + tag, nil
}

// withNodePlatform adds to an image index, beside each wasi/wasm32 manifest,
// the same manifest for the node's platform (linux and the runner's GOARCH:
// the runner runs on the node). A CRI runtime pulls for the node's platform
// whatever the runtime handler: containerd 2.2.9's CRI pulls and unpacks for
// platforms.DefaultSpec() (internal/cri/server/images/image_pull.go) and
// refuses an index without it ("no match for platform in manifest";
// TestRegistryImages). The wasm shim reads the module from the rootfs and
// never looks at the platform.
func withNodePlatform(index []byte) ([]byte, error) {
	var idx ocispec.Index
	if err := json.Unmarshal(index, &idx); err != nil {
		return nil, fmt.Errorf("cri runner: image layout's index.json: %w", err)
	}
	node := ocispec.Platform{OS: "linux", Architecture: runtime.GOARCH}
	for _, m := range idx.Manifests {
		if m.Platform == nil || m.Platform.OS == node.OS {
			continue
		}
		m.Platform = &node
		idx.Manifests = append(idx.Manifests, m)
	}
	return json.Marshal(idx)
}

// mediaTypeOf is a JSON document's mediaType field, "" for anything else.
func mediaTypeOf(b []byte) string {
	var v struct {
		MediaType string `json:"mediaType"`
	}
	if len(b) == 0 || b[0] != '{' || json.Unmarshal(b, &v) != nil {
		return ""
	}
	return v.MediaType
}

func (g *registry) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		registryError(w, http.StatusMethodNotAllowed, "UNSUPPORTED", "this registry is read-only")
		return
	}
	p := strings.TrimPrefix(r.URL.Path, "/v2/")
	if p == r.URL.Path {
		registryError(w, http.StatusNotFound, "NAME_UNKNOWN", "not an OCI distribution path")
		return
	}
	if p == "" {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte("{}"))
		return
	}
	var c content
	var ok bool
	g.mu.Lock()
	if i := strings.LastIndex(p, "/manifests/"); i > 0 {
		name, ref := p[:i], p[i+len("/manifests/"):]
		if strings.Contains(ref, ":") {
			c, ok = g.manifests[name+"@"+ref]
		} else {
			c, ok = g.manifests[name+":"+ref]
		}
	} else if i := strings.LastIndex(p, "/blobs/"); i > 0 {
		var b []byte
		b, ok = g.blobs[digest.Digest(p[i+len("/blobs/"):])]
		c = content{mediaType: "application/octet-stream", data: b}
	}
	g.mu.Unlock()
	if !ok {
		registryError(w, http.StatusNotFound, "MANIFEST_UNKNOWN", "no such manifest or blob")
		return
	}
	w.Header().Set("Content-Type", c.mediaType)
	w.Header().Set("Docker-Content-Digest", digest.FromBytes(c.data).String())
	w.Header().Set("Content-Length", fmt.Sprint(len(c.data)))
	if r.Method == http.MethodGet {
		_, _ = w.Write(c.data)
	}
}

func registryError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"errors": []map[string]string{{"code": code, "message": msg}}})
}
