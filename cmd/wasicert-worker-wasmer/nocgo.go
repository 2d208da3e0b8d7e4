//go:build !cgo

package main

import "github.com/wasicert/wasicert/runners/process"

const cgoBuilt = false

func run(string) int {
	process.WriteReport(process.Report{Ended: process.ReportError, Detail: "wasicert-worker-wasmer built without cgo: no wasmer engine"})
	return exitError
}
