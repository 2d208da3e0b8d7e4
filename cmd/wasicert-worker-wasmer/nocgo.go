//go:build !cgo

package main

import "github.com/wasicert/wasicert/internal/process"

const cgoBuilt = false

func run(string) int {
	return process.WorkerEnd(worker, process.WorkerEnding{Ended: process.EndedError, Detail: "built without cgo: no wasmer engine"})
}
