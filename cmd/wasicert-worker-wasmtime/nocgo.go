//go:build !cgo

package main

import "github.com/wasicert/wasicert/runners/process"

const cgoBuilt = false

func run(string) int {
	return process.WorkerEnd(worker, process.Report{Ended: process.ReportError, Detail: "built without cgo: no wasmtime engine"})
}
