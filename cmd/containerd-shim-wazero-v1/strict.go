//go:build !wasicert_weakened

package main

// weakenedMounts is false in every real build: see weakened.go.
const weakenedMounts = false
