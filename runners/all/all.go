// Package all registers every runtime wasicert knows, for commands and
// suites that choose a runtime by name. Import it for its side effects.
package all

import (
	_ "github.com/wasicert/wasicert/runners/cli"        // wazero-cli, wasmtime-cli, wasmedge, wasmer-cli, iwasm (command templates)
	_ "github.com/wasicert/wasicert/runners/containerd" // containerd-wazero, containerd-wasmtime, containerd-wasmedge, containerd (any shim)
	_ "github.com/wasicert/wasicert/runners/cri"        // cri (pods through any CRI endpoint and runtime handler)
	_ "github.com/wasicert/wasicert/runners/docker"     // docker (any containerd runtime through a Docker engine)
	_ "github.com/wasicert/wasicert/runners/jco"        // jco (preview-1 modules as WASI 0.2 components on preview2-shim)
	_ "github.com/wasicert/wasicert/runners/node"       // node, bun
	_ "github.com/wasicert/wasicert/runners/wasmer"     // wasmer (wasmer-go, in its worker process)
	_ "github.com/wasicert/wasicert/runners/wasmtime"   // wasmtime (wasmtime-go, in its worker process)
	_ "github.com/wasicert/wasicert/runners/wazero"     // wazero, wazero-interpreter, wazero-confined (embedded)
)
