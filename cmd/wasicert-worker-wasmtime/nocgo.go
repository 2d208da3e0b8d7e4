//go:build !cgo

package main

import "github.com/wasicert/wasicert/runners/process"

const cgoBuilt = false

func run(string) int {
	process.WriteReport(process.Report{Ended: process.ReportError, Detail: "wasicert-worker-wasmtime built without cgo: no wasmtime engine"})
	return exitError
}
