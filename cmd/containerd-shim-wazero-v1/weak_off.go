//go:build !wasicert_weakened

package main

// weakShim is false in every real build. Built with the tag
// wasicert_weakened (tests only: the negative controls of the shim specs),
// the shim keeps the behaviour these hardenings replaced; see weak_on.go.
const weakShim = false
