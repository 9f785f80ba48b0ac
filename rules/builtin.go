package rules

import (
	"embed"
	"io/fs"
)

//go:embed builtin/*.yaml
var builtinFiles embed.FS

// Builtin returns the embedded signal pack: the pack files of
// rules/builtin, at the root of the returned file system. Load reads them
// first, named "builtin/NAME", unless Options.NoBuiltin is set.
func Builtin() fs.FS {
	sub, err := fs.Sub(builtinFiles, "builtin")
	if err != nil {
		panic(err) // cannot happen: "builtin" is a valid path
	}
	return sub
}
