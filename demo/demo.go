// Package demo holds the built-in demo: a sample stream of fictional posts
// about two fictional brands, and their rule files.
package demo

import (
	"embed"
	"io/fs"
)

//go:embed posts.jsonl rules/*.yaml
var files embed.FS

// Posts returns the sample stream as JSON Lines.
func Posts() ([]byte, error) { return files.ReadFile("posts.jsonl") }

// Rules returns the demo's rule files.
func Rules() fs.FS {
	sub, err := fs.Sub(files, "rules")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	return sub
}
