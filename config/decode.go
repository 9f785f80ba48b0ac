package config

import (
	"bytes"
	"errors"
	"fmt"
	"github.com/kizuki-dev/kizuki/internal/yamlerr"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // time zones validate the same on every machine
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	"github.com/kizuki-dev/kizuki/internal/suggest"
	"github.com/kizuki-dev/kizuki/rules"
)

// MaxFileSize is the largest kizuki.yaml Load reads.
const MaxFileSize = 1 << 20

const (
	maxVisits   = 100000
	maxProblems = 100
)

var (
	topKeys       = []string{"timezone", "data_dir", "rules", "log", "http", "slack", "retention", "digest", "sources"}
	logKeys       = []string{"level", "format"}
	httpKeys      = []string{"listen", "allow_remote"}
	slackKeys     = []string{"bot_token", "signing_secret", "app_token", "api_url", "default_channel", "ops_channel", "channels"}
	retentionKeys = []string{"posts"}
	digestKeys    = []string{"channel", "schedule", "response_target"}
	logLevels     = []string{"debug", "info", "warn", "error"}
	logFormats    = []string{"text", "json"}
	commonKeys    = []string{"name", "type", "schedule", "stall_after"}
	// sourceKeys are the keys of each source type besides commonKeys.
	sourceKeys = map[string][]string{
		HackerNews: {"base_url", "firebase_url", "daily_budget"},
		Feed:       {"urls", "daily_budget"},
		File:       {"path", "skip_bad"},
		Mastodon:   {"base_url", "hashtags", "token", "daily_budget"},
		Reddit:     {"base_url", "auth_url", "client_id", "client_secret", "username", "password", "user_agent", "subreddits", "daily_budget"},
		X:          {"base_url", "bearer_token", "daily_budget"},
		Bluesky:    {"base_url", "identifier", "app_password", "daily_budget"},
	}
	// secretKeys must be written as ${ENV_NAME}.
	secretKeys = map[string]bool{"bot_token": true, "signing_secret": true, "app_token": true, "token": true,
		"bearer_token": true, "client_secret": true, "password": true, "app_password": true}
	// typeAliases are names people use for a source type.
	typeAliases = map[string]string{"hn": HackerNews, "hacker_news": HackerNews, "rss": Feed, "atom": Feed,
		"twitter": X, "bsky": Bluesky, "jsonl": File, "stdin": File}
	// zoneAbbrevs are abbreviations people write for a time zone.
	zoneAbbrevs = map[string]string{"JST": "Asia/Tokyo", "KST": "Asia/Seoul", "PST": "America/Los_Angeles",
		"PDT": "America/Los_Angeles", "BST": "Europe/London", "IST": "Asia/Kolkata", "CEST": "Europe/Paris"}
	// envHints are the conventional variable of each credential.
	envHints = map[string]string{
		"slack.bot_token":      "KIZUKI_SLACK_BOT_TOKEN",
		"slack.signing_secret": "KIZUKI_SLACK_SIGNING_SECRET",
		"slack.app_token":      "KIZUKI_SLACK_APP_TOKEN",
		"mastodon.token":       "KIZUKI_MASTODON_TOKEN",
		"reddit.client_id":     "KIZUKI_REDDIT_CLIENT_ID",
		"reddit.client_secret": "KIZUKI_REDDIT_CLIENT_SECRET",
		"reddit.username":      "KIZUKI_REDDIT_USERNAME",
		"reddit.password":      "KIZUKI_REDDIT_PASSWORD",
		"x.bearer_token":       "KIZUKI_X_BEARER_TOKEN",
		"bluesky.identifier":   "KIZUKI_BLUESKY_IDENTIFIER",
		"bluesky.app_password": "KIZUKI_BLUESKY_APP_PASSWORD",
	}
	envRefRE     = regexp.MustCompile(`\$\{([^{}]*)\}`)
	envNameRE    = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	sourceNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)
)

// Load reads and validates the configuration file at path. getenv resolves
// ${NAME} references (os.Getenv in the daemon; nil means os.Getenv). Problems
// with the file are returned together as rules.Problems, each
// "file:line: message (hint)"; a file that cannot be read is a plain error.
func Load(path string, getenv func(string) string) (*Config, error) {
	src, err := readFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, src, getenv)
}

func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	defer f.Close()
	src, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("read config %s: %w", path, err)
	}
	return src, nil
}

// Parse is Load for a file already read; path names it in problems and
// anchors relative paths.
func Parse(path string, src []byte, getenv func(string) string) (cfg *Config, err error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	d := &decoder{file: path, dir: filepath.Dir(path), getenv: getenv}
	defer func() {
		if r := recover(); r != nil {
			if _, ok := r.(abort); !ok {
				d.probs = append(d.probs, rules.Problem{Pos: rules.Pos{File: path, Line: 1}, Msg: fmt.Sprintf("cannot read the file: %v", r)})
			}
			cfg = nil
		}
		if len(d.probs) > 0 {
			cfg, err = nil, tidy(d.probs)
		}
	}()
	if len(src) > MaxFileSize {
		d.add(1, "", "file is more than the limit of 1 MiB")
		return nil, nil
	}
	root := d.parseYAML(src)
	if root == nil {
		return nil, nil
	}
	return d.config(root), nil
}

type abort struct{}

type decoder struct {
	file, dir string
	getenv    func(string) string
	probs     []rules.Problem
	visits    int
}

func (d *decoder) add(line int, hint, format string, args ...any) {
	d.probs = append(d.probs, rules.Problem{Pos: rules.Pos{File: d.file, Line: line}, Msg: fmt.Sprintf(format, args...), Hint: hint})
	if len(d.probs) >= maxProblems {
		d.probs = append(d.probs, rules.Problem{Pos: rules.Pos{File: d.file, Line: line}, Msg: "too many problems, stopped checking"})
		panic(abort{})
	}
}

func (d *decoder) at(n *yaml.Node, hint, format string, args ...any) {
	d.add(n.Line, hint, format, args...)
}

func tidy(ps []rules.Problem) rules.Problems {
	slices.SortStableFunc(ps, func(a, b rules.Problem) int { return a.Pos.Line - b.Pos.Line })
	out := ps[:0]
	for i, p := range ps {
		if i > 0 && p == ps[i-1] {
			continue
		}
		out = append(out, p)
	}
	return rules.Problems(out)
}

func (d *decoder) resolve(n *yaml.Node) *yaml.Node {
	d.visit()
	for n.Kind == yaml.AliasNode {
		if n.Alias == nil {
			return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Line: n.Line, Column: n.Column}
		}
		n = n.Alias
		d.visit()
	}
	return n
}

func (d *decoder) visit() {
	if d.visits++; d.visits > maxVisits {
		d.add(1, "use fewer aliases (*name)", "file is too complex: more than %d YAML values once aliases are expanded", maxVisits)
		panic(abort{})
	}
}

func (d *decoder) parseYAML(src []byte) *yaml.Node {
	dec := yaml.NewDecoder(bytes.NewReader(src))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			d.add(1, "`kizuki init` writes a starter kizuki.yaml", "file is empty")
		} else {
			d.syntaxError(src, err)
		}
		return nil
	}
	var next yaml.Node
	if err := dec.Decode(&next); err == nil {
		if !(len(next.Content) == 1 && isNull(next.Content[0]) && next.Content[0].Value == "") {
			d.add(next.Line, "", "more than one YAML document in the file (\"---\" starts a new one)")
			return nil
		}
	} else if !errors.Is(err, io.EOF) {
		d.syntaxError(src, err)
		return nil
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
		d.add(1, "", "file is not a YAML document")
		return nil
	}
	root := d.resolve(doc.Content[0])
	switch {
	case isNull(root):
		d.add(1, "`kizuki init` writes a starter kizuki.yaml", "file is empty")
		return nil
	case root.Kind != yaml.MappingNode:
		d.at(root, "start with keys such as timezone: and sources:", "the file must be a mapping of keys to values, not %s", yamlerr.Kind(root))
		return nil
	}
	return root
}

func (d *decoder) syntaxError(src []byte, err error) {
	line, msg := yamlerr.Locate(err, src)
	hint := ""
	lines := strings.Split(string(src), "\n")
	switch {
	case line-1 < len(lines) && strings.Contains(lines[line-1][:len(lines[line-1])-len(strings.TrimLeft(lines[line-1], " \t"))], "\t"):
		hint = "indent with spaces, not tabs"
	case line-1 < len(lines) && strings.Contains(msg, "did not find expected ','") && strings.Contains(lines[line-1], "${"):
		hint = `quote ${…} references inside {…} and […]: "${NAME}"`
	case strings.Contains(msg, "mapping values are not allowed"):
		hint = `quote a value that contains ": ", or check the indentation`
	case strings.Contains(msg, "did not find expected"):
		hint = "check the indentation"
	}
	d.add(line, hint, "YAML syntax error: %s", msg)
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" }

// pair is one key: value of a mapping; val is resolved.
type pair struct {
	key   string
	knode *yaml.Node
	val   *yaml.Node
}

// mapping returns the entries of the mapping n (null is empty), reporting
// bad, repeated and unknown keys. where names it in messages and paths.
func (d *decoder) mapping(n *yaml.Node, where, example string, valid []string) ([]pair, bool) {
	n = d.resolve(n)
	if isNull(n) {
		return nil, true
	}
	if n.Kind != yaml.MappingNode {
		d.at(n, "write it as "+example, "%s must be a mapping, not %s", where, yamlerr.Kind(n))
		return nil, false
	}
	var out []pair
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := d.resolve(n.Content[i])
		v := d.resolve(n.Content[i+1])
		if k.Kind != yaml.ScalarNode || isNull(k) {
			d.at(k, "", "a key%s must be a name, not %s", in(where), yamlerr.Kind(k))
			continue
		}
		if k.Value == "<<" && k.ShortTag() == "!!merge" {
			d.at(k, "repeat the keys", "merge keys (<<) are not supported")
			continue
		}
		if first, dup := seen[k.Value]; dup {
			d.at(k, "remove one of them", "%q appears twice%s (first at line %d)", k.Value, in(where), first)
			continue
		}
		seen[k.Value] = k.Line
		if valid != nil && !slices.Contains(valid, k.Value) {
			d.at(k, suggest.DidYouMean(suggest.Nearest(k.Value, valid)), "unknown key %q%s", k.Value, in(where))
			continue
		}
		out = append(out, pair{key: k.Value, knode: k, val: v})
	}
	return out, true
}

func in(where string) string {
	if where == "" {
		return ""
	}
	return " in " + where
}

func join(where, key string) string {
	if where == "" {
		return key
	}
	return where + "." + key
}

// scalar returns a single value as a trimmed string, with ${NAME}
// references expanded. path names it in messages. Empty is a problem unless
// allowEmpty.
func (d *decoder) scalar(p pair, path string, allowEmpty bool) (string, bool) {
	v := p.val
	switch {
	case isNull(v) && allowEmpty:
		return "", true
	case isNull(v):
		d.at(p.knode, yamlerr.CommentHint(p.val, p.knode), "%s is empty", path)
		return "", false
	case v.Kind != yaml.ScalarNode:
		d.at(v, "", "%s must be a single value, not %s", path, yamlerr.Kind(v))
		return "", false
	}
	s, ok := d.expand(v, v.Value, path)
	if !ok {
		return "", false
	}
	s = strings.TrimSpace(s)
	if s == "" && !allowEmpty {
		d.at(v, "", "%s is empty", path)
		return "", false
	}
	return s, true
}

// expand replaces the ${NAME} references of s.
func (d *decoder) expand(n *yaml.Node, s, path string) (string, bool) {
	ok := true
	out := envRefRE.ReplaceAllStringFunc(s, func(ref string) string {
		name := ref[2 : len(ref)-1]
		if !envNameRE.MatchString(name) {
			d.at(n, "a name is letters, digits and _, e.g. ${KIZUKI_X_BEARER_TOKEN}", "%s has a bad environment reference %q", path, clip(ref))
			ok = false
			return ""
		}
		val := d.getenv(name)
		if val == "" {
			d.at(n, "needed by "+path, "environment variable %s is not set", name)
			ok = false
		}
		return val
	})
	return out, ok
}

// secret reads a credential, which must be exactly ${NAME}. The value is
// never put in a message.
func (d *decoder) secret(p pair, path, envHint string) (Secret, bool) {
	v := p.val
	example := "${ENV_NAME}"
	if envHint != "" {
		example = "${" + envHint + "}"
	}
	hint := fmt.Sprintf("e.g. %s: %s", p.key, example)
	if isNull(v) {
		d.at(p.knode, hint, "%s is empty", path)
		return Secret{}, false
	}
	m := envRefRE.FindStringSubmatch(strings.TrimSpace(v.Value))
	if v.Kind != yaml.ScalarNode || m == nil || m[0] != strings.TrimSpace(v.Value) || !envNameRE.MatchString(m[1]) {
		d.at(v, hint, "%s: write secrets as ${ENV_NAME} references, never in the file", path)
		return Secret{}, false
	}
	val := d.getenv(m[1])
	if val == "" {
		d.at(v, "needed by "+path, "environment variable %s is not set", m[1])
		return Secret{}, false
	}
	return Secret{env: m[1], value: val}, true
}

func (d *decoder) boolean(p pair, path string) (bool, bool) {
	b, ok, hint := yamlerr.Bool(p.val)
	if !ok {
		d.at(p.val, hint, "%s must be true or false, not %s", path, yamlerr.Kind(p.val))
	}
	return b, ok
}

func (d *decoder) integer(p pair, path string, lo, hi int) (int, bool) {
	v := p.val
	if v.Kind != yaml.ScalarNode || v.ShortTag() != "!!int" {
		d.at(v, "", "%s must be a whole number from %d to %d, not %s", path, lo, hi, yamlerr.Kind(v))
		return 0, false
	}
	n, err := strconv.ParseInt(strings.ReplaceAll(v.Value, "_", ""), 0, 64)
	if err != nil || n < int64(lo) || n > int64(hi) {
		d.at(v, "", "%s %s is outside %d..%d", path, v.Value, lo, hi)
		return 0, false
	}
	return int(n), true
}

// list reads a list of single values (empty entries are a problem).
func (d *decoder) list(p pair, path string) ([]string, bool) {
	v := p.val
	switch {
	case isNull(v):
		return nil, true
	case v.Kind == yaml.ScalarNode:
		d.at(v, yamlerr.ListHint(v.Value), "%s must be a list, not a single value", path)
		return nil, false
	case v.Kind != yaml.SequenceNode:
		d.at(v, "write it as a list: [a, b]", "%s must be a list, not %s", path, yamlerr.Kind(v))
		return nil, false
	}
	var out []string
	ok := true
	for i, e := range v.Content {
		e = d.resolve(e)
		s, good := d.scalar(pair{key: p.key, knode: e, val: e}, fmt.Sprintf("%s[%d]", path, i), false)
		if good {
			out = append(out, s)
		}
		ok = ok && good
	}
	return out, ok
}

func clip(s string) string {
	if utf8.RuneCountInString(s) <= 60 {
		return s
	}
	return string([]rune(s)[:60]) + "…"
}

// httpURL checks an http(s) URL; "" is allowed (the default).
func (d *decoder) httpURL(p pair, path string, required bool) (string, bool) {
	s, ok := d.scalar(p, path, !required)
	if !ok || s == "" {
		return s, ok
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		d.at(p.val, "e.g. https://example.com", "%s %q is not an http(s) URL", path, clip(redactURL(s)))
		return "", false
	}
	return s, true
}

func (d *decoder) path(s string) string {
	if s == "-" || filepath.IsAbs(s) {
		return s
	}
	return filepath.Join(d.dir, s)
}

// config decodes the top level.
func (d *decoder) config(root *yaml.Node) *Config {
	c := &Config{
		File:      d.file,
		Timezone:  "Local",
		Location:  time.Local,
		DataDir:   d.path(DefaultDataDir),
		Log:       Log{Level: DefaultLevel, Format: DefaultFormat},
		HTTP:      HTTP{Listen: DefaultListen},
		Retention: Retention{Posts: DefaultPostRetention},
	}
	ps, _ := d.mapping(root, "", "", topKeys)
	var sawRules, sawSources bool
	for _, p := range ps {
		switch p.key {
		case "timezone":
			if s, ok := d.scalar(p, p.key, false); ok {
				d.timezone(c, p, s)
			}
		case "data_dir":
			if s, ok := d.scalar(p, p.key, false); ok {
				c.DataDir = d.path(s)
			}
		case "rules":
			sawRules = true
			if l, ok := d.list(p, p.key); ok {
				for _, s := range l {
					c.Rules = append(c.Rules, d.path(s))
				}
				if len(l) == 0 {
					d.at(p.knode, "e.g. rules: [rules/]", "rules lists no directory")
				}
			}
		case "log":
			d.log(c, p)
		case "http":
			d.http(c, p)
		case "slack":
			d.slack(c, p)
		case "retention":
			kv, _ := d.mapping(p.val, "retention", "retention: {posts: 90d}", retentionKeys)
			for _, e := range kv {
				if dur, ok := d.duration(e, "retention."+e.key); ok {
					c.Retention.Posts = dur
				}
			}
		case "digest":
			d.digest(c, p)
		case "sources":
			sawSources = true
			d.sources(c, p)
		}
	}
	if !sawRules {
		d.at(root, "add the rule directories, e.g. rules: [rules/]", "rules is missing")
	}
	if !sawSources {
		d.at(root, "add at least one, e.g. sources: [{type: hackernews}]", "sources is missing")
	}
	return c
}

func (d *decoder) digest(c *Config, p pair) {
	kv, ok := d.mapping(p.val, "digest", `digest: {channel: "#kizuki", schedule: "0 9 * * *"}`, digestKeys)
	if !ok {
		return
	}
	g := &Digest{Schedule: DefaultDigestSchedule, ResponseTarget: DefaultResponseTarget}
	c.Digest = g
	for _, e := range kv {
		path := "digest." + e.key
		switch e.key {
		case "channel":
			g.Channel, _ = d.scalar(e, path, false)
		case "schedule":
			if spec, good := d.scalar(e, path, false); good {
				if msg, hint := CheckSchedule(spec); msg != "" {
					d.at(e.val, hint, "%s: %s", path, msg)
				} else {
					g.Schedule = spec
				}
			}
		case "response_target":
			if dur, good := d.duration(e, path); good {
				g.ResponseTarget = dur
			}
		}
	}
}

func (d *decoder) timezone(c *Config, p pair, s string) {
	if s == "Local" {
		c.Timezone, c.Location = s, time.Local
		return
	}
	loc, err := time.LoadLocation(s)
	if err != nil || strings.EqualFold(s, "local") {
		hint := `use an IANA name such as "Asia/Tokyo", "UTC" or "Local"`
		if z, ok := zoneAbbrevs[strings.ToUpper(s)]; ok {
			hint = suggest.DidYouMean(z)
		} else if strings.EqualFold(s, "local") || strings.EqualFold(s, "utc") {
			hint = suggest.DidYouMean(map[bool]string{true: "Local", false: "UTC"}[strings.EqualFold(s, "local")])
		}
		d.at(p.val, hint, "unknown time zone %q", clip(s))
		return
	}
	c.Timezone, c.Location = s, loc
}

func (d *decoder) log(c *Config, p pair) {
	kv, _ := d.mapping(p.val, "log", "log: {level: info, format: text}", logKeys)
	for _, e := range kv {
		s, ok := d.scalar(e, "log."+e.key, false)
		if !ok {
			continue
		}
		valid := logLevels
		if e.key == "format" {
			valid = logFormats
		}
		s = strings.ToLower(s)
		if s == "warning" {
			s = "warn"
		}
		if !slices.Contains(valid, s) {
			hint := suggest.DidYouMean(suggest.Nearest(s, valid))
			if hint == "" {
				hint = "one of " + strings.Join(valid, ", ")
			}
			d.at(e.val, hint, "log.%s %q is not one of %s", e.key, clip(s), strings.Join(valid, ", "))
			continue
		}
		if e.key == "level" {
			c.Log.Level = s
		} else {
			c.Log.Format = s
		}
	}
}

func (d *decoder) http(c *Config, p pair) {
	kv, _ := d.mapping(p.val, "http", "http: {listen: 127.0.0.1:9090}", httpKeys)
	var listen *pair
	for _, e := range kv {
		switch e.key {
		case "listen":
			if s, ok := d.scalar(e, "http.listen", false); ok {
				c.HTTP.Listen = s
				listen = &e
			}
		case "allow_remote":
			c.HTTP.AllowRemote, _ = d.boolean(e, "http.allow_remote")
		}
	}
	if listen == nil {
		return
	}
	host, port, err := net.SplitHostPort(c.HTTP.Listen)
	n, perr := strconv.Atoi(port)
	if err != nil || perr != nil || n < 0 || n > 65535 {
		d.at(listen.val, "e.g. listen: 127.0.0.1:9090", "http.listen %q is not host:port", clip(c.HTTP.Listen))
		c.HTTP.Listen = DefaultListen
		return
	}
	if isLoopback(host) || c.HTTP.AllowRemote {
		return
	}
	d.at(listen.val, fmt.Sprintf("listen on 127.0.0.1:%d, or set http.allow_remote: true if other machines must reach it", n),
		"http.listen %q accepts connections from other machines", c.HTTP.Listen)
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (d *decoder) slack(c *Config, p pair) {
	kv, ok := d.mapping(p.val, "slack", "slack: {bot_token: ${KIZUKI_SLACK_BOT_TOKEN}, default_channel: \"#kizuki\"}", slackKeys)
	if !ok {
		return
	}
	s := &Slack{}
	c.Slack = s
	seen := map[string]bool{}
	for _, e := range kv {
		seen[e.key] = true
		path := "slack." + e.key
		switch e.key {
		case "bot_token":
			s.BotToken, _ = d.secret(e, path, envHints[path])
		case "signing_secret":
			s.SigningSecret, _ = d.secret(e, path, envHints[path])
		case "app_token":
			s.AppToken, _ = d.secret(e, path, envHints[path])
		case "api_url":
			s.APIURL, _ = d.httpURL(e, path, false)
		case "default_channel":
			s.DefaultChannel, _ = d.scalar(e, path, false)
		case "ops_channel":
			s.OpsChannel, _ = d.scalar(e, path, false)
		case "channels":
			d.channels(s, e)
		}
	}
	line := p.knode.Line
	if !seen["bot_token"] {
		d.add(line, "add bot_token: ${KIZUKI_SLACK_BOT_TOKEN}", "slack.bot_token is missing")
	}
	if !seen["default_channel"] {
		d.add(line, `add default_channel: "#kizuki"`, "slack.default_channel is missing")
	}
}

func (d *decoder) channels(s *Slack, p pair) {
	cats := make([]string, len(rules.Categories))
	for i, c := range rules.Categories {
		cats[i] = string(c)
	}
	slices.Sort(cats)
	kv, _ := d.mapping(p.val, "slack.channels", `channels: {risky: "#risk"}`, nil)
	for _, e := range kv {
		if !slices.Contains(cats, e.key) {
			hint := suggest.DidYouMean(suggest.Nearest(e.key, cats))
			if hint == "" {
				hint = "one of " + strings.Join(cats, ", ")
			}
			d.at(e.knode, hint, "unknown category %q in slack.channels", clip(e.key))
			continue
		}
		if ch, ok := d.scalar(e, "slack.channels."+e.key, false); ok {
			if s.Channels == nil {
				s.Channels = map[rules.Category]string{}
			}
			s.Channels[rules.Category(e.key)] = ch
		}
	}
}

// duration reads a positive duration; "90d" counts whole days.
func (d *decoder) duration(p pair, path string) (time.Duration, bool) {
	s, ok := d.scalar(p, path, false)
	if !ok {
		return 0, false
	}
	dur, err := ParseDuration(s)
	if err != nil {
		d.at(p.val, "write it like 90d, 36h or 30m", "%s %q is not a duration", path, clip(s))
		return 0, false
	}
	if dur <= 0 {
		d.at(p.val, "write it like 90d, 36h or 30m", "%s must be longer than 0", path)
		return 0, false
	}
	return dur, true
}

// ParseDuration is time.ParseDuration that also reads whole days: "90d",
// "1d12h".
func ParseDuration(s string) (time.Duration, error) {
	if i := strings.IndexByte(s, 'd'); i > 0 {
		days, err := strconv.Atoi(s[:i])
		if err != nil || days < 0 || days > 100000 {
			return 0, fmt.Errorf("bad duration %q", s)
		}
		var rest time.Duration
		if s[i+1:] != "" {
			if rest, err = time.ParseDuration(s[i+1:]); err != nil || rest < 0 {
				return 0, fmt.Errorf("bad duration %q", s)
			}
		}
		return time.Duration(days)*24*time.Hour + rest, nil
	}
	return time.ParseDuration(s)
}

func (d *decoder) sources(c *Config, p pair) {
	v := p.val
	switch {
	case isNull(v):
		d.at(p.knode, "add at least one, e.g. sources: [{type: hackernews}]", "sources is empty")
		return
	case v.Kind != yaml.SequenceNode:
		d.at(v, "write it as a list: sources: [{type: hackernews}]", "sources must be a list, not %s", yamlerr.Kind(v))
		return
	case len(v.Content) == 0:
		d.at(v, "add at least one, e.g. sources: [{type: hackernews}]", "sources is empty")
		return
	}
	names := map[string]int{}
	for i, item := range v.Content {
		item = d.resolve(item)
		src, ok := d.source(item, fmt.Sprintf("sources[%d]", i))
		if !ok {
			continue
		}
		if first, dup := names[src.Name]; dup {
			d.add(src.Pos.Line, "give each source its own name:", "duplicate source name %q (first at line %d)", src.Name, first)
			continue
		}
		names[src.Name] = src.Pos.Line
		c.Sources = append(c.Sources, src)
	}
}

func allSourceKeys() []string {
	all := slices.Clone(commonKeys)
	for _, ks := range sourceKeys {
		for _, k := range ks {
			if !slices.Contains(all, k) {
				all = append(all, k)
			}
		}
	}
	return all
}

func (d *decoder) source(n *yaml.Node, where string) (Source, bool) {
	src := Source{Pos: rules.Pos{File: d.file, Line: n.Line}}
	if n.Kind != yaml.MappingNode {
		d.at(n, "write it as {name: hn, type: hackernews}", "%s must be a mapping, not %s", where, yamlerr.Kind(n))
		return src, false
	}
	// The type decides which keys are valid: find it first.
	kv, _ := d.mapping(n, where, "", nil)
	ok := true
	var typePair *pair
	for i := range kv {
		if kv[i].key == "type" {
			typePair = &kv[i]
		}
	}
	valid := allSourceKeys()
	if typePair == nil {
		d.at(n, "e.g. type: hackernews; one of "+strings.Join(SourceTypes, ", "), "%s has no type", where)
		ok = false
	} else if t, good := d.scalar(*typePair, where+".type", false); !good {
		ok = false
	} else if _, known := sourceKeys[strings.ToLower(t)]; !known {
		hint := suggest.DidYouMean(typeAliases[strings.ToLower(t)])
		if hint == "" {
			hint = suggest.DidYouMean(suggest.Nearest(t, SourceTypes))
		}
		if hint != "" {
			hint += "; "
		}
		d.at(typePair.val, hint+"valid types: "+strings.Join(SourceTypes, ", "), "unknown source type %q", clip(t))
		ok = false
	} else {
		src.Type = strings.ToLower(t)
		valid = append(slices.Clone(commonKeys), sourceKeys[src.Type]...)
	}
	seen := map[string]*pair{}
	for i := range kv {
		e := &kv[i]
		if !slices.Contains(valid, e.key) {
			hint := suggest.DidYouMean(suggest.Nearest(e.key, valid))
			msg := fmt.Sprintf("unknown key %q in %s", e.key, where)
			if hint == "" && src.Type != "" && slices.Contains(allSourceKeys(), e.key) {
				msg = fmt.Sprintf("%q is not an option of %s sources (%s)", e.key, src.Type, where)
				hint = "its options: " + strings.Join(sourceKeys[src.Type], ", ")
			}
			d.at(e.knode, hint, "%s", msg)
			ok = false
			continue
		}
		seen[e.key] = e
	}
	if src.Type == "" {
		return src, false
	}
	for _, e := range kv {
		if seen[e.key] == nil || e.key == "type" {
			continue
		}
		path := where + "." + e.key
		var good bool
		if secretKeys[e.key] {
			var s Secret
			if s, good = d.secret(e, path, envHints[src.Type+"."+e.key]); good {
				if src.Secrets == nil {
					src.Secrets = map[string]Secret{}
				}
				src.Secrets[e.key] = s
			}
			ok = ok && good
			continue
		}
		switch e.key {
		case "name":
			if src.Name, good = d.scalar(e, path, false); good && !sourceNameRE.MatchString(src.Name) {
				d.at(e.val, "use letters, digits, '.', '-' and '_', e.g. mastodon-social", "source name %q is not a simple name", clip(src.Name))
				good = false
			}
		case "schedule":
			if src.Schedule, good = d.scalar(e, path, false); good {
				if msg, hint := CheckSchedule(src.Schedule); msg != "" {
					d.at(e.val, hint, "%s: %s", path, msg)
					good = false
				}
			}
		case "stall_after":
			src.StallAfter, good = d.duration(e, path)
		case "base_url":
			src.BaseURL, good = d.httpURL(e, path, src.Type == Mastodon)
		case "firebase_url":
			src.FirebaseURL, good = d.httpURL(e, path, false)
		case "auth_url":
			src.AuthURL, good = d.httpURL(e, path, false)
		case "urls":
			if src.URLs, good = d.list(e, path); good {
				for i, u := range src.URLs {
					ep := pair{key: e.key, knode: e.val.Content[i], val: d.resolve(e.val.Content[i])}
					_, g := d.httpURL(ep, fmt.Sprintf("%s[%d]", path, i), true)
					good = good && g && u != ""
				}
				if len(src.URLs) == 0 {
					d.at(e.knode, "e.g. urls: [https://www.google.com/alerts/feeds/…]", "%s is empty", path)
					good = false
				}
			}
		case "path":
			var s string
			if s, good = d.scalar(e, path, false); good {
				src.Path = d.path(s)
			}
		case "skip_bad":
			src.SkipBad, good = d.boolean(e, path)
		case "hashtags":
			var tags []string
			if tags, good = d.list(e, path); good {
				for _, t := range tags {
					src.Hashtags = append(src.Hashtags, strings.TrimPrefix(t, "#"))
				}
			}
		case "subreddits":
			src.Subreddits, good = d.list(e, path)
		case "client_id":
			src.ClientID, good = d.scalar(e, path, false)
		case "username":
			src.Username, good = d.scalar(e, path, false)
		case "identifier":
			src.Identifier, good = d.scalar(e, path, false)
		case "user_agent":
			src.UserAgent, good = d.scalar(e, path, true)
		case "daily_budget":
			src.DailyBudget, good = d.integer(e, path, 0, 100000000)
		}
		ok = ok && good
	}
	if src.Name == "" && seen["name"] == nil {
		src.Name = src.Type
	}
	if src.Schedule == "" && seen["schedule"] == nil {
		src.Schedule = DefaultSchedules[src.Type]
	}
	for _, k := range requiredKeys[src.Type] {
		if seen[k] != nil {
			continue
		}
		ok = false
		example := "…"
		if env := envHints[src.Type+"."+k]; env != "" {
			example = "${" + env + "}"
		} else if ex, has := requiredExamples[k]; has {
			example = ex
		}
		d.at(n, fmt.Sprintf("add %s: %s", k, example), "%s (%s) needs %s", where, src.Type, k)
	}
	return src, ok
}

var requiredKeys = map[string][]string{
	Feed:     {"urls"},
	File:     {"path"},
	Mastodon: {"base_url"},
	Reddit:   {"client_id", "client_secret", "username", "password"},
	X:        {"bearer_token"},
	Bluesky:  {"identifier", "app_password"},
}

var requiredExamples = map[string]string{
	"urls":     "[https://www.google.com/alerts/feeds/…]",
	"path":     "posts.jsonl",
	"base_url": "https://mastodon.social",
}
