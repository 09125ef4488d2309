// Package version holds the release the binaries were built from. The
// Dockerfile and `make build` set it by linker flag:
//
//	go build -ldflags "-X expiry-sync/internal/version.Version=v1.2.3" ./worker ./starter
package version

import "runtime/debug"

// Version is the release name set at build time; "dev" for a plain `go build`.
var Version = "dev"

// String is Version with the VCS revision when the build recorded one.
func String() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return Version
	}
	for _, s := range info.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			return Version + " (" + s.Value[:12] + ")"
		}
	}
	return Version
}
