//go:build linux && !wasicert_weakened

package confinedfs

// weakenedAnyFileType is false in every real build: see weakened.go.
const weakenedAnyFileType = false
