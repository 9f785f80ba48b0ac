// Package config reads kizuki.yaml, the daemon's configuration: time zone,
// data directory, rule directories, logging, the HTTP listener, Slack, retention
// and the sources to poll.
//
// The file is decoded strictly (unknown keys are rejected with a did-you-mean
// hint), validated once at start-up, and every problem is reported as
// "file:line: message (hint)" through rules.Problems. Secrets are never written
// in the file: they are ${ENV_NAME} references, resolved at load time, kept in
// memory, and never printed (see Secret, Config.Redacted and Config.String).
package config

import (
	"fmt"
	"github.com/kizuki-dev/kizuki/internal/yamlerr"
	"log/slog"
	"maps"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/kizuki-dev/kizuki/rules"
)

// Defaults.
const (
	DefaultDataDir = "kizuki-data"
	DefaultListen  = "127.0.0.1:9090"
	DefaultLevel   = "info"
	DefaultFormat  = "text"
	// DefaultPostRetention is how long posts are kept when retention.posts
	// is not set.
	DefaultPostRetention = 90 * 24 * time.Hour
)

// Source types.
const (
	HackerNews = "hackernews"
	Feed       = "feed"
	File       = "file"
	Mastodon   = "mastodon"
	Reddit     = "reddit"
	X          = "x"
	Bluesky    = "bluesky"
)

// SourceTypes are the valid values of a source's type, sorted.
var SourceTypes = []string{Bluesky, Feed, File, HackerNews, Mastodon, Reddit, X}

// DefaultSchedules is the schedule of each source type when none is set.
// Schedules are run by github.com/robfig/cron/v3 in the daemon.
var DefaultSchedules = map[string]string{
	HackerNews: "@every 2m",
	Feed:       "@every 10m",
	File:       "@every 30s",
	Mastodon:   "@every 2m",
	Reddit:     "@every 5m",
	X:          "@every 5m",
	Bluesky:    "@every 2m",
}

// Config is a loaded, validated kizuki.yaml. Relative paths (data_dir, rules,
// a file source's path) are resolved against the directory of the file.
type Config struct {
	// File is the path the configuration was loaded from.
	File string
	// Timezone is the name as written ("Local" by default) and Location
	// the loaded zone (time.Local by default, which is UTC where the
	// machine has no zone set).
	Timezone string
	Location *time.Location
	DataDir  string
	// Rules are the rule directories, in order.
	Rules     []string
	Log       Log
	HTTP      HTTP
	Slack     *Slack // nil without a slack section: alerts go to the terminal
	Retention Retention
	// Digest, if set, sends the daily digest to Slack.
	Digest  *Digest
	Sources []Source
}

// Defaults of the digest section.
const (
	DefaultDigestSchedule = "0 9 * * *" // 09:00 in the configured time zone
	DefaultResponseTarget = time.Hour
)

// Digest configures the daily digest: yesterday's numbers, open cases older than the
// response target, the best positive posts, any surge.
type Digest struct {
	Channel        string // "" means slack.default_channel
	Schedule       string
	ResponseTarget time.Duration
}

// Log configures the daemon's slog logger.
type Log struct {
	Level  string // debug, info, warn, error
	Format string // text, json
}

// SlogLevel is Level as a slog.Level.
func (l Log) SlogLevel() slog.Level {
	switch l.Level {
	case "debug":
		return slog.LevelDebug
	case "warn":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	}
	return slog.LevelInfo
}

// HTTP configures the health, metrics and Slack interactions listener.
type HTTP struct {
	Listen string // host:port, loopback unless AllowRemote
	// AllowRemote allows Listen on an address other machines can reach.
	AllowRemote bool
}

// Slack configures alert delivery to Slack.
type Slack struct {
	BotToken Secret // required
	// SigningSecret verifies interaction requests (Request URL mode);
	// AppToken is the app-level token for Socket Mode. Both optional.
	SigningSecret, AppToken Secret
	APIURL                  string // "" for Slack's own
	DefaultChannel          string
	// OpsChannel receives operator notices (a stalled source); "" means DefaultChannel.
	OpsChannel string
	// Channels routes a category to a channel instead of DefaultChannel
	// (alerting.Routes{Default: DefaultChannel, PerCategory: Channels}).
	Channels map[rules.Category]string
}

// Retention says how long data is kept.
type Retention struct {
	Posts time.Duration
}

// Source is one entry of sources. Only the fields of its Type are set.
type Source struct {
	Pos      rules.Pos // where the entry starts
	Name     string    // unique; defaults to Type
	Type     string    // one of SourceTypes
	Schedule string    // a cron spec; defaults to DefaultSchedules[Type]
	// StallAfter is how long the source may bring no posts (or only errors) before an
	// operator notice; zero means three intervals of its schedule, at least 30 minutes.
	StallAfter time.Duration
	// BaseURL overrides the platform's API: Algolia for hackernews, the
	// instance for mastodon (required), the OAuth API for reddit, the API
	// for x, the PDS for bluesky. "" means the platform's default.
	BaseURL string

	FirebaseURL string   // hackernews
	URLs        []string // feed
	Path        string   // file: a JSON Lines file, or "-" for stdin
	SkipBad     bool     // file
	Hashtags    []string // mastodon, without "#"
	AuthURL     string   // reddit
	ClientID    string   // reddit
	Username    string   // reddit
	UserAgent   string   // reddit
	Subreddits  []string // reddit
	// DailyBudget caps reads per UTC day (0 = unlimited): posts on x, which bills each
	// post read, requests elsewhere. Engagement re-polls stop first, then thread fetches.
	DailyBudget int
	Identifier  string // bluesky

	// Secrets holds the source's credentials by key: "token" (mastodon),
	// "client_secret" and "password" (reddit), "bearer_token" (x),
	// "app_password" (bluesky).
	Secrets map[string]Secret
}

// Secret is a credential read from the environment. It formats, marshals and
// logs as its ${ENV_NAME} reference; only Value returns the credential.
type Secret struct {
	env, value string
}

// NewSecret returns a Secret holding value, read from the variable env.
func NewSecret(env, value string) Secret { return Secret{env: env, value: value} }

// Value is the credential itself.
func (s Secret) Value() string { return s.value }

// Env is the name of the environment variable it was read from.
func (s Secret) Env() string { return s.env }

// IsSet reports whether the secret was configured.
func (s Secret) IsSet() bool { return s.env != "" }

// String is the reference "${ENV_NAME}", or "" when not configured.
func (s Secret) String() string {
	if s.env == "" {
		return ""
	}
	return "${" + s.env + "}"
}

// GoString keeps %#v from printing the value.
func (s Secret) GoString() string { return fmt.Sprintf("config.Secret(%q)", s.String()) }

// Format prints the reference for every verb.
func (s Secret) Format(f fmt.State, verb rune) {
	if verb == 'q' {
		fmt.Fprintf(f, "%q", s.String())
		return
	}
	if verb == 'v' && f.Flag('#') {
		fmt.Fprint(f, s.GoString())
		return
	}
	fmt.Fprint(f, s.String())
}

// MarshalText marshals the reference, not the value (JSON, YAML, slog).
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// LogValue logs the reference.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// Redacted returns a deep copy of c that holds no credential (each Secret
// keeps only its ${ENV_NAME}) and whose URLs have no user info or query.
func (c *Config) Redacted() *Config {
	r := *c
	r.Rules = slices.Clone(c.Rules)
	if c.Slack != nil {
		s := *c.Slack
		s.BotToken = s.BotToken.redacted()
		s.SigningSecret = s.SigningSecret.redacted()
		s.AppToken = s.AppToken.redacted()
		s.APIURL = redactURL(s.APIURL)
		s.Channels = maps.Clone(c.Slack.Channels)
		r.Slack = &s
	}
	r.Sources = make([]Source, len(c.Sources))
	for i, src := range c.Sources {
		src.BaseURL = redactURL(src.BaseURL)
		src.FirebaseURL = redactURL(src.FirebaseURL)
		src.AuthURL = redactURL(src.AuthURL)
		src.URLs = slices.Clone(src.URLs)
		for j, u := range src.URLs {
			src.URLs[j] = redactURL(u)
		}
		src.Hashtags = slices.Clone(src.Hashtags)
		src.Subreddits = slices.Clone(src.Subreddits)
		if src.Secrets != nil {
			secrets := make(map[string]Secret, len(src.Secrets))
			for k, v := range src.Secrets {
				secrets[k] = v.redacted()
			}
			src.Secrets = secrets
		}
		r.Sources[i] = src
	}
	return &r
}

func (s Secret) redacted() Secret { return Secret{env: s.env} }

// redactURL drops the user info and the query of u, which may carry keys.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || s == "" {
		return s
	}
	if u.User == nil && u.RawQuery == "" {
		return s
	}
	u.User = nil
	if u.RawQuery != "" {
		u.RawQuery = "REDACTED"
	}
	return u.String()
}

// String renders c as YAML for logs and `kizuki check`, without credentials:
// secrets appear as their ${ENV_NAME} references.
func (c *Config) String() string {
	r := c.Redacted()
	var b strings.Builder
	kv := func(indent, k string, v any) {
		fmt.Fprintf(&b, "%s%s: %s\n", indent, k, yamlValue(v))
	}
	kv("", "timezone", r.Timezone)
	kv("", "data_dir", r.DataDir)
	kv("", "rules", r.Rules)
	fmt.Fprintf(&b, "log: {level: %s, format: %s}\n", r.Log.Level, r.Log.Format)
	fmt.Fprintf(&b, "http: {listen: %s, allow_remote: %t}\n", yamlValue(r.HTTP.Listen), r.HTTP.AllowRemote)
	if s := r.Slack; s != nil {
		b.WriteString("slack:\n")
		kv("  ", "bot_token", s.BotToken.String())
		if s.SigningSecret.IsSet() {
			kv("  ", "signing_secret", s.SigningSecret.String())
		}
		if s.AppToken.IsSet() {
			kv("  ", "app_token", s.AppToken.String())
		}
		if s.APIURL != "" {
			kv("  ", "api_url", s.APIURL)
		}
		kv("  ", "default_channel", s.DefaultChannel)
		if s.OpsChannel != "" {
			kv("  ", "ops_channel", s.OpsChannel)
		}
		if len(s.Channels) > 0 {
			b.WriteString("  channels:\n")
			for _, cat := range slices.Sorted(maps.Keys(s.Channels)) {
				kv("    ", string(cat), s.Channels[cat])
			}
		}
	}
	fmt.Fprintf(&b, "retention: {posts: %s}\n", FormatDuration(r.Retention.Posts))
	if g := r.Digest; g != nil {
		b.WriteString("digest:\n")
		if g.Channel != "" {
			kv("  ", "channel", g.Channel)
		}
		kv("  ", "schedule", g.Schedule)
		kv("  ", "response_target", FormatDuration(g.ResponseTarget))
	}
	b.WriteString("sources:\n")
	for _, s := range r.Sources {
		fmt.Fprintf(&b, "  - name: %s\n", yamlValue(s.Name))
		kv("    ", "type", s.Type)
		kv("    ", "schedule", s.Schedule)
		if s.StallAfter > 0 {
			kv("    ", "stall_after", FormatDuration(s.StallAfter))
		}
		for _, f := range []struct {
			k string
			v any
		}{
			{"base_url", s.BaseURL}, {"firebase_url", s.FirebaseURL}, {"urls", s.URLs}, {"path", s.Path},
			{"skip_bad", s.SkipBad}, {"hashtags", s.Hashtags}, {"auth_url", s.AuthURL}, {"client_id", s.ClientID},
			{"username", s.Username}, {"user_agent", s.UserAgent}, {"subreddits", s.Subreddits},
			{"daily_budget", s.DailyBudget}, {"identifier", s.Identifier},
		} {
			switch v := f.v.(type) {
			case string:
				if v == "" {
					continue
				}
			case []string:
				if len(v) == 0 {
					continue
				}
			case bool:
				if !v {
					continue
				}
			case int:
				if v == 0 {
					continue
				}
			}
			kv("    ", f.k, f.v)
		}
		for _, k := range slices.Sorted(maps.Keys(s.Secrets)) {
			kv("    ", k, s.Secrets[k].String())
		}
	}
	return b.String()
}

func yamlValue(v any) string {
	switch v := v.(type) {
	case string:
		return yamlerr.Quote(v)
	case []string:
		q := make([]string, len(v))
		for i, s := range v {
			q[i] = yamlerr.Quote(s)
		}
		return "[" + strings.Join(q, ", ") + "]"
	}
	return fmt.Sprint(v)
}

// FormatDuration writes d as Load reads it: whole days as "90d".
func FormatDuration(d time.Duration) string {
	const day = 24 * time.Hour
	if d > 0 && d%day == 0 {
		return fmt.Sprintf("%dd", d/day)
	}
	return d.String()
}
