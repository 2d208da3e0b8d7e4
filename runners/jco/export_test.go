package jco

import "github.com/wasicert/wasicert/runners"

// OpenIn is openIn, for the not-installed tests.
var OpenIn = openIn

// LauncherJS is the embedded launcher's source.
var LauncherJS = launcherJS

// SetLauncher makes r run the launcher script at path instead of its own:
// the hostile stand-ins of the tests.
func SetLauncher(r runners.Runner, path string) { r.(*Runner).script = path }
