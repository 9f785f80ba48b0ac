package rules

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Options change how rules are loaded.
type Options struct {
	// NoBuiltin skips the embedded signal pack entirely.
	NoBuiltin bool
}

// source is one rule file read into memory.
type source struct {
	name    string // as shown in messages and Set.Files
	data    []byte
	tooBig  bool
	builtin bool
}

// isRuleFile reports whether a directory entry name is a rule file.
// Hidden files (editor backups, lock files) are skipped.
func isRuleFile(name string) bool {
	if strings.HasPrefix(name, ".") {
		return false
	}
	ext := strings.ToLower(path.Ext(name))
	return ext == ".yaml" || ext == ".yml"
}

// Load loads every *.yaml and *.yml file of dir (not its subdirectories,
// and not hidden files), in name order, over the built-in pack. The error
// is Problems, listing every problem of every file, or an I/O error.
func Load(dir string, opt Options) (*Set, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("rules: %w", err)
	}
	var paths []string
	subdirs := false
	for _, e := range entries {
		full := filepath.Join(dir, e.Name())
		isDir := e.IsDir()
		if e.Type()&fs.ModeSymlink != 0 {
			if fi, err := os.Stat(full); err == nil {
				isDir = fi.IsDir()
			}
		}
		if isDir {
			subdirs = true
			continue
		}
		if isRuleFile(e.Name()) {
			paths = append(paths, full)
		}
	}
	if len(paths) == 0 {
		hint := "add a brand rule such as kumo.yaml with brand: and keywords:, see docs/rules.md"
		if subdirs {
			hint = "files in subdirectories are not read; " + hint
		}
		return nil, Problems{{Pos: Pos{File: dir}, Msg: "no rule files (*.yaml, *.yml) in the directory", Hint: hint}}
	}
	return LoadFiles(paths, opt)
}

// LoadFiles loads the given rule files in the given order over the
// built-in pack. Errors are as for Load.
func LoadFiles(paths []string, opt Options) (*Set, error) {
	srcs := make([]source, 0, len(paths))
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			return nil, fmt.Errorf("rules: %w", err)
		}
		s, err := readSource(f, p)
		f.Close()
		if err != nil {
			return nil, err
		}
		srcs = append(srcs, s)
	}
	return load(srcs, opt)
}

// LoadFS loads the named files of fsys in the given order over the
// built-in pack; names are used in messages as they are. When names is
// nil, every *.yaml and *.yml file at the root of fsys is loaded, in name
// order. Errors are as for Load.
func LoadFS(fsys fs.FS, names []string, opt Options) (*Set, error) {
	if names == nil {
		var err error
		if names, err = ruleFiles(fsys); err != nil {
			return nil, fmt.Errorf("rules: %w", err)
		}
	}
	srcs, err := readFS(fsys, names, "", false)
	if err != nil {
		return nil, err
	}
	return load(srcs, opt)
}

// ruleFiles lists the rule files at the root of fsys in name order.
func ruleFiles(fsys fs.FS) ([]string, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, err
	}
	names := []string{}
	for _, e := range entries {
		if !e.IsDir() && isRuleFile(e.Name()) {
			names = append(names, e.Name())
		}
	}
	return names, nil
}

func readFS(fsys fs.FS, names []string, prefix string, builtin bool) ([]source, error) {
	srcs := make([]source, 0, len(names))
	for _, name := range names {
		f, err := fsys.Open(name)
		if err != nil {
			return nil, fmt.Errorf("rules: %w", err)
		}
		s, err := readSource(f, prefix+name)
		f.Close()
		if err != nil {
			return nil, err
		}
		s.builtin = builtin
		srcs = append(srcs, s)
	}
	return srcs, nil
}

// readSource reads at most MaxFileSize+1 bytes: enough to know a file is
// too big without reading all of it.
func readSource(r io.Reader, name string) (source, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxFileSize+1))
	if err != nil {
		return source{}, fmt.Errorf("rules: %s: %w", name, err)
	}
	if len(data) > MaxFileSize {
		return source{name: name, tooBig: true}, nil
	}
	return source{name: name, data: data}, nil
}

// builtinPack is Builtin, replaced in tests.
var builtinPack = Builtin

// builtinSources reads the embedded pack.
func builtinSources() ([]source, error) {
	fsys := builtinPack()
	names, err := ruleFiles(fsys)
	if err != nil {
		return nil, fmt.Errorf("rules: built-in pack: %w", err)
	}
	return readFS(fsys, names, "builtin/", true)
}

func load(user []source, opt Options) (*Set, error) {
	var srcs []source
	if !opt.NoBuiltin {
		b, err := builtinSources()
		if err != nil {
			return nil, err
		}
		srcs = append(srcs, b...)
	}
	srcs = append(srcs, user...)
	if len(user) == 0 {
		return nil, Problems{{Msg: "no rule files to load", Hint: "add a brand rule with brand: and keywords:, see docs/rules.md"}}
	}
	var probs []Problem
	var files []*parsedFile
	for _, s := range srcs {
		if s.tooBig {
			probs = append(probs, Problem{Pos: Pos{s.name, 1}, Msg: "file is more than the limit of 1 MiB", Hint: "split it into several files"})
			continue
		}
		pf, ps := parseFile(s.name, s.data, s.builtin)
		probs = append(probs, ps...)
		if pf != nil {
			files = append(files, pf)
		}
	}
	set, ps := build(srcs, files)
	probs = append(probs, ps...)
	if len(probs) > 0 {
		return nil, tidyProblems(probs)
	}
	return set, nil
}

// build compiles checked files into a Set: the pack layered in file order,
// and each brand's effective signals.
func build(srcs []source, files []*parsedFile) (*Set, []Problem) {
	set := &Set{Pack: Pack{Negators: map[string][]string{}, Intensifiers: map[string][]string{}}}
	for _, s := range srcs {
		set.Files = append(set.Files, s.name)
	}
	var probs []Problem

	// Brands must be unique across files.
	brands := map[string]*Rule{}
	for _, f := range files {
		if f.rule == nil || f.brandKey == "" {
			continue
		}
		if first, dup := brands[f.brandKey]; dup {
			probs = append(probs,
				Problem{Pos: f.rule.Pos, Msg: fmt.Sprintf("brand %q is already defined at %s:%d", f.rule.Brand, first.Pos.File, first.Pos.Line),
					Hint: "each brand needs its own single rule file"},
				Problem{Pos: first.Pos, Msg: fmt.Sprintf("brand %q is defined again at %s:%d", first.Brand, f.rule.Pos.File, f.rule.Pos.Line),
					Hint: "each brand needs its own single rule file"})
			continue
		}
		brands[f.brandKey] = f.rule
	}

	// The pack: built-in files, then the user's pack files, in order.
	builtin := map[*Signal]bool{}
	for _, f := range files {
		if f.rule != nil {
			continue
		}
		for _, e := range f.signals {
			if f.builtin {
				builtin[e.sig] = true
			}
		}
		set.Pack.Signals = applySignals(set.Pack.Signals, f.signals)
		mergeWords(set.Pack.Negators, f.negators)
		mergeWords(set.Pack.Intensifiers, f.intensifiers)
	}

	for _, f := range files {
		if f.rule == nil {
			continue
		}
		r := f.rule
		var sigs []*Signal
		for _, s := range set.Pack.Signals {
			if f.builtinSignals || !builtin[s] {
				sigs = append(sigs, s)
			}
		}
		r.Signals = applySignals(sigs, f.signals)
		set.Rules = append(set.Rules, r)
	}
	return set, probs
}

// applySignals layers entries over sigs: a signal of the same name replaces
// the earlier one in place, a new one is added at the end, and a disabled
// one removes the earlier one.
func applySignals(sigs []*Signal, entries []sigEntry) []*Signal {
	if len(entries) == 0 {
		return sigs
	}
	index := make(map[string]int, len(sigs)+len(entries))
	for i, s := range sigs {
		index[s.Name] = i
	}
	removed := false
	for _, e := range entries {
		i, ok := index[e.sig.Name]
		switch {
		case e.disabled && ok:
			sigs[i] = nil
			delete(index, e.sig.Name)
			removed = true
		case e.disabled:
		case ok:
			sigs[i] = e.sig
		default:
			index[e.sig.Name] = len(sigs)
			sigs = append(sigs, e.sig)
		}
	}
	if removed {
		sigs = slices.DeleteFunc(sigs, func(s *Signal) bool { return s == nil })
	}
	return sigs
}

func mergeWords(dst, src map[string][]string) {
	for lang, words := range src {
		for _, w := range words {
			if !slices.Contains(dst[lang], w) {
				dst[lang] = append(dst[lang], w)
			}
		}
	}
}

// Summary describes s in one line, e.g.
// "3 brands, 212 signals (1,480 terms: en 800, ja 640, any 40), 12 files".
// Signals are counted once each, whether shared by brands or not.
func (s *Set) Summary() string {
	seen := map[*Signal]bool{}
	perLang := map[string]int{}
	total := 0
	count := func(sig *Signal) {
		if seen[sig] {
			return
		}
		seen[sig] = true
		for lang, ts := range sig.Terms {
			perLang[lang] += len(ts)
			total += len(ts)
		}
	}
	for _, sig := range s.Pack.Signals {
		count(sig)
	}
	for _, r := range s.Rules {
		for _, sig := range r.Signals {
			count(sig)
		}
	}
	langs := make([]string, 0, len(perLang))
	for l := range perLang {
		langs = append(langs, l)
	}
	slices.SortFunc(langs, func(a, b string) int {
		if perLang[a] != perLang[b] {
			return perLang[b] - perLang[a]
		}
		return strings.Compare(a, b)
	})
	terms := plural(total, "term")
	if len(langs) > 0 {
		parts := make([]string, len(langs))
		for i, l := range langs {
			parts[i] = l + " " + thousands(perLang[l])
		}
		terms += ": " + strings.Join(parts, ", ")
	}
	return fmt.Sprintf("%s, %s (%s), %s", plural(len(s.Rules), "brand"), plural(len(seen), "signal"), terms, plural(len(s.Files), "file"))
}

func plural(n int, word string) string {
	if n != 1 {
		word += "s"
	}
	return thousands(n) + " " + word
}

// thousands formats n with commas: 1,480.
func thousands(n int) string {
	s := strconv.Itoa(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}
