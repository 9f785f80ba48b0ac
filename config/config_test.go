package config

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kizuki-dev/kizuki/rules"
)

var testEnv = map[string]string{
	"KIZUKI_SLACK_BOT_TOKEN":      "xoxb-secret-bot",
	"KIZUKI_SLACK_SIGNING_SECRET": "sign-secret",
	"KIZUKI_SLACK_APP_TOKEN":      "xapp-secret",
	"KIZUKI_MASTODON_TOKEN":       "masto-secret",
	"KIZUKI_X_BEARER_TOKEN":       "x-secret-bearer",
	"KIZUKI_REDDIT_CLIENT_ID":     "reddit-id",
	"KIZUKI_REDDIT_CLIENT_SECRET": "reddit-secret",
	"KIZUKI_REDDIT_USERNAME":      "reddit-user",
	"KIZUKI_REDDIT_PASSWORD":      "reddit-password",
	"KIZUKI_BLUESKY_IDENTIFIER":   "kumo.bsky.social",
	"KIZUKI_BLUESKY_APP_PASSWORD": "bsky-secret",
	"FEED_ID":                     "12345",
}

func getenv(name string) string { return testEnv[name] }

// load writes src to kizuki.yaml in a fresh directory and loads it, so that
// problems read "kizuki.yaml:LINE: …".
func load(t *testing.T, src string, env func(string) string) (*Config, error) {
	t.Helper()
	t.Chdir(t.TempDir())
	if err := os.WriteFile("kizuki.yaml", []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	return Load("kizuki.yaml", env)
}

const fullFile = `timezone: Asia/Tokyo
data_dir: /var/lib/kizuki
rules: [rules/, more-rules]
log: {level: debug, format: json}
http: {listen: "0.0.0.0:9191", allow_remote: true}
slack:
  bot_token: ${KIZUKI_SLACK_BOT_TOKEN}
  signing_secret: ${KIZUKI_SLACK_SIGNING_SECRET}
  api_url: ""
  default_channel: "#kizuki"
  channels: {risky: "#risk"}
retention: {posts: 30d}
sources:
  - {name: hn, type: hackernews, schedule: "@every 2m"}
  - {name: alerts, type: feed, schedule: "@every 10m", urls: ["https://www.google.com/alerts/feeds/${FEED_ID}/1"]}
  - {name: mastodon-social, type: mastodon, base_url: https://mastodon.social, schedule: "@every 2m", hashtags: [kumomobile, "#kumo"], token: "${KIZUKI_MASTODON_TOKEN}"}
  - {name: x, type: x, schedule: "@every 5m", bearer_token: "${KIZUKI_X_BEARER_TOKEN}", daily_budget: 10000}
  - name: reddit
    type: reddit
    schedule: "*/15 9-18 * * mon-fri"
    client_id: ${KIZUKI_REDDIT_CLIENT_ID}
    client_secret: ${KIZUKI_REDDIT_CLIENT_SECRET}
    username: ${KIZUKI_REDDIT_USERNAME}
    password: ${KIZUKI_REDDIT_PASSWORD}
    subreddits: [golang]
  - {type: bluesky, identifier: "${KIZUKI_BLUESKY_IDENTIFIER}", app_password: "${KIZUKI_BLUESKY_APP_PASSWORD}"}
  - {type: file, path: posts.jsonl, skip_bad: true}
`

func TestLoadFullFile(t *testing.T) {
	c, err := load(t, fullFile, getenv)
	if err != nil {
		t.Fatal(err)
	}
	dir, _ := os.Getwd()
	if c.Timezone != "Asia/Tokyo" || c.Location.String() != "Asia/Tokyo" {
		t.Errorf("time zone = %q %v", c.Timezone, c.Location)
	}
	if c.DataDir != "/var/lib/kizuki" {
		t.Errorf("DataDir = %q", c.DataDir)
	}
	if want := []string{"rules", "more-rules"}; fmt.Sprint(c.Rules) != fmt.Sprint(want) {
		t.Errorf("Rules = %q, want %q", c.Rules, want)
	}
	if c.Log != (Log{Level: "debug", Format: "json"}) || c.Log.SlogLevel() != slog.LevelDebug {
		t.Errorf("Log = %+v", c.Log)
	}
	if c.HTTP != (HTTP{Listen: "0.0.0.0:9191", AllowRemote: true}) {
		t.Errorf("HTTP = %+v", c.HTTP)
	}
	s := c.Slack
	if s == nil || s.BotToken.Value() != "xoxb-secret-bot" || s.SigningSecret.Value() != "sign-secret" ||
		s.AppToken.IsSet() || s.APIURL != "" || s.DefaultChannel != "#kizuki" || s.Channels[rules.Risky] != "#risk" {
		t.Errorf("Slack = %#v", s)
	}
	if c.Retention.Posts != 30*24*time.Hour {
		t.Errorf("Retention = %v", c.Retention.Posts)
	}
	if len(c.Sources) != 7 {
		t.Fatalf("%d sources", len(c.Sources))
	}
	names := make([]string, len(c.Sources))
	for i, s := range c.Sources {
		names[i] = s.Name + "/" + s.Type + "/" + s.Schedule
	}
	want := "[hn/hackernews/@every 2m alerts/feed/@every 10m mastodon-social/mastodon/@every 2m x/x/@every 5m " +
		"reddit/reddit/*/15 9-18 * * mon-fri bluesky/bluesky/@every 2m file/file/@every 30s]"
	if got := fmt.Sprint(names); got != want {
		t.Errorf("sources = %s\nwant %s", got, want)
	}
	if got := c.Sources[1].URLs[0]; got != "https://www.google.com/alerts/feeds/12345/1" {
		t.Errorf("feed URL = %q", got)
	}
	m := c.Sources[2]
	if m.BaseURL != "https://mastodon.social" || fmt.Sprint(m.Hashtags) != "[kumomobile kumo]" || m.Secrets["token"].Value() != "masto-secret" {
		t.Errorf("mastodon = %+v", m)
	}
	x := c.Sources[3]
	if x.DailyBudget != 10000 || x.Secrets["bearer_token"].Value() != "x-secret-bearer" || x.Secrets["bearer_token"].Env() != "KIZUKI_X_BEARER_TOKEN" {
		t.Errorf("x = %+v", x)
	}
	r := c.Sources[4]
	if r.ClientID != "reddit-id" || r.Username != "reddit-user" || r.Secrets["password"].Value() != "reddit-password" ||
		fmt.Sprint(r.Subreddits) != "[golang]" || r.Pos.Line != 18 {
		t.Errorf("reddit = %+v", r)
	}
	if b := c.Sources[5]; b.Identifier != "kumo.bsky.social" || b.Secrets["app_password"].Value() != "bsky-secret" {
		t.Errorf("bluesky = %+v", b)
	}
	if f := c.Sources[6]; f.Path != "posts.jsonl" || !f.SkipBad {
		t.Errorf("file = %+v (dir %s)", f, dir)
	}
}

func TestLoadDefaults(t *testing.T) {
	c, err := load(t, "rules: [rules]\nsources: [{type: hackernews}, {type: feed, urls: [https://example.com/a.xml]}]\n", getenv)
	if err != nil {
		t.Fatal(err)
	}
	if c.Timezone != "Local" || c.Location != time.Local || c.DataDir != "kizuki-data" || c.HTTP.Listen != "127.0.0.1:9090" ||
		c.HTTP.AllowRemote || c.Log != (Log{"info", "text"}) || c.Slack != nil || c.Retention.Posts != 90*24*time.Hour {
		t.Errorf("defaults: %+v", c)
	}
	if s := c.Sources; s[0].Name != "hackernews" || s[0].Schedule != "@every 2m" || s[1].Name != "feed" || s[1].Schedule != "@every 10m" {
		t.Errorf("sources: %+v", s)
	}
}

func TestRelativePathsFollowTheFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "kizuki.yaml")
	src := "data_dir: data\nrules: [rules, /etc/kizuki/rules]\nsources: [{type: file, path: in/posts.jsonl}, {name: stdin, type: file, path: \"-\"}]\n"
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path, getenv)
	if err != nil {
		t.Fatal(err)
	}
	if c.DataDir != filepath.Join(dir, "data") || c.Rules[0] != filepath.Join(dir, "rules") || c.Rules[1] != "/etc/kizuki/rules" ||
		c.Sources[0].Path != filepath.Join(dir, "in/posts.jsonl") || c.Sources[1].Path != "-" {
		t.Errorf("paths: %q %q %q %q", c.DataDir, c.Rules, c.Sources[0].Path, c.Sources[1].Path)
	}
}

func TestEnvSubstitution(t *testing.T) {
	env := map[string]string{"HOST": "mastodon.example", "TOKEN": "t0k", "USER": "kumo"}
	c, err := load(t, `rules: [rules]
sources:
  - type: mastodon
    base_url: https://${HOST}
    token: ${TOKEN}
  - type: bluesky
    identifier: ${USER}.bsky.social
    app_password: ${TOKEN}
`, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if c.Sources[0].BaseURL != "https://mastodon.example" || c.Sources[0].Secrets["token"].Value() != "t0k" ||
		c.Sources[1].Identifier != "kumo.bsky.social" {
		t.Errorf("got %+v", c.Sources)
	}
}

const base = "rules: [rules]\nsources: [{type: hackernews}]\n"

func TestLoadProblems(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string
	}{
		{"empty file", "", []string{"kizuki.yaml:1: file is empty (`kizuki init` writes a starter kizuki.yaml)"}},
		{"syntax", "rules: [rules\nsources: x\n", []string{"kizuki.yaml:2: YAML syntax error: did not find expected ',' or ']' (check the indentation)"}},
		{"unquoted reference in a flow mapping", "rules: [rules]\nsources: [{type: x, bearer_token: ${KIZUKI_X_BEARER_TOKEN}}]\n",
			[]string{`kizuki.yaml:2: YAML syntax error: did not find expected ',' or '}' (quote ${…} references inside {…} and […]: "${NAME}")`}},
		{"not a mapping", "- a\n", []string{"kizuki.yaml:1: the file must be a mapping of keys to values, not a list (start with keys such as timezone: and sources:)"}},
		{"unknown top key", base + "tmezone: UTC\n", []string{`kizuki.yaml:3: unknown key "tmezone" (did you mean "timezone"?)`}},
		{"unknown nested key", base + "http: {lisen: 127.0.0.1:80}\n", []string{`kizuki.yaml:3: unknown key "lisen" in http (did you mean "listen"?)`}},
		{"unknown source key", "rules: [rules]\nsources:\n  - type: hackernews\n    scheduel: \"@daily\"\n",
			[]string{`kizuki.yaml:4: unknown key "scheduel" in sources[0] (did you mean "schedule"?)`}},
		{"key of another type", "rules: [rules]\nsources:\n  - type: hackernews\n    urls: [https://a.example]\n",
			[]string{`kizuki.yaml:4: "urls" is not an option of hackernews sources (sources[0]) (its options: base_url, firebase_url, daily_budget)`}},
		{"duplicate key", base + "timezone: UTC\ntimezone: Asia/Tokyo\n", []string{`kizuki.yaml:4: "timezone" appears twice (first at line 3) (remove one of them)`}},
		{"missing rules and sources", "timezone: UTC\n", []string{
			"kizuki.yaml:1: rules is missing (add the rule directories, e.g. rules: [rules/])",
			"kizuki.yaml:1: sources is missing (add at least one, e.g. sources: [{type: hackernews}])"}},
		{"wrong type list", "rules: rules/, more\nsources: [{type: hackernews}]\n", []string{`kizuki.yaml:1: rules must be a list, not a single value (write it as a list: [rules/, more])`}},
		{"wrong type mapping", base + "log: text\n", []string{`kizuki.yaml:3: log must be a mapping, not a string (write it as log: {level: info, format: text})`}},
		{"wrong type bool", base + "http: {allow_remote: yes}\n", []string{`kizuki.yaml:3: http.allow_remote must be true or false, not a string (write true)`}},
		{"wrong type int", "rules: [rules]\nsources:\n  - type: x\n    bearer_token: ${KIZUKI_X_BEARER_TOKEN}\n    daily_budget: lots\n",
			[]string{`kizuki.yaml:5: sources[0].daily_budget must be a whole number from 0 to 100000000, not a string`}},
		{"bad log level", base + "log: {level: verbose}\n", []string{`kizuki.yaml:3: log.level "verbose" is not one of debug, info, warn, error (one of debug, info, warn, error)`}},
		{"unknown source type", "rules: [rules]\nsources:\n  - name: hn\n    type: hn\n",
			[]string{`kizuki.yaml:4: unknown source type "hn" (did you mean "hackernews"?; valid types: bluesky, feed, file, hackernews, mastodon, reddit, x)`}},
		{"unknown source type near", "rules: [rules]\nsources: [{type: mastadon, base_url: https://m.example}]\n",
			[]string{`kizuki.yaml:2: unknown source type "mastadon" (did you mean "mastodon"?; valid types: bluesky, feed, file, hackernews, mastodon, reddit, x)`}},
		{"no source type", "rules: [rules]\nsources:\n  - name: a\n", []string{
			"kizuki.yaml:3: sources[0] has no type (e.g. type: hackernews; one of bluesky, feed, file, hackernews, mastodon, reddit, x)"}},
		{"duplicate source name", "rules: [rules]\nsources:\n  - {name: a, type: hackernews}\n  - {name: a, type: file, path: p.jsonl}\n",
			[]string{`kizuki.yaml:4: duplicate source name "a" (first at line 3) (give each source its own name:)`}},
		{"duplicate default name", "rules: [rules]\nsources:\n  - type: hackernews\n\n  - type: hackernews\n",
			[]string{`kizuki.yaml:5: duplicate source name "hackernews" (first at line 3) (give each source its own name:)`}},
		{"missing required", "rules: [rules]\nsources:\n  - type: x\n",
			[]string{`kizuki.yaml:3: sources[0] (x) needs bearer_token (add bearer_token: ${KIZUKI_X_BEARER_TOKEN})`}},
		{"bad cron fields", "rules: [rules]\nsources:\n  - type: hackernews\n    schedule: \"*/5 * * *\"\n",
			[]string{`kizuki.yaml:4: sources[0].schedule: schedule "*/5 * * *" has 4 fields, not 5 (` + scheduleForms + `)`}},
		{"bad cron range", "rules: [rules]\nsources:\n  - type: hackernews\n    schedule: \"0 24 * * *\"\n",
			[]string{`kizuki.yaml:4: sources[0].schedule: schedule "0 24 * * *": "24" is not a hour (0-23) (` + scheduleForms + `)`}},
		{"bad every", "rules: [rules]\nsources:\n  - type: hackernews\n    schedule: \"@every 1d\"\n",
			[]string{`kizuki.yaml:4: sources[0].schedule: @every takes hours, not days: "1d" (e.g. "@every 24h", or "@daily")`}},
		{"bad timezone", "timezone: Asia/Tokio\n" + base, []string{`kizuki.yaml:1: unknown time zone "Asia/Tokio" (use an IANA name such as "Asia/Tokyo", "UTC" or "Local")`}},
		{"timezone abbreviation", "timezone: JST\n" + base, []string{`kizuki.yaml:1: unknown time zone "JST" (did you mean "Asia/Tokyo"?)`}},
		{"bad duration", base + "retention:\n  posts: 90 days\n", []string{`kizuki.yaml:4: retention.posts "90 days" is not a duration (write it like 90d, 36h or 30m)`}},
		{"literal secret", "rules: [rules]\nsources:\n  - type: x\n    bearer_token: AAAAsecretvalue\n",
			[]string{`kizuki.yaml:4: sources[0].bearer_token: write secrets as ${ENV_NAME} references, never in the file (e.g. bearer_token: ${KIZUKI_X_BEARER_TOKEN})`}},
		{"literal slack secret", base + "slack:\n  bot_token: xoxb-1-2\n  signing_secret: Bearer ${KIZUKI_SLACK_SIGNING_SECRET}\n  default_channel: \"#k\"\n", []string{
			`kizuki.yaml:4: slack.bot_token: write secrets as ${ENV_NAME} references, never in the file (e.g. bot_token: ${KIZUKI_SLACK_BOT_TOKEN})`,
			`kizuki.yaml:5: slack.signing_secret: write secrets as ${ENV_NAME} references, never in the file (e.g. signing_secret: ${KIZUKI_SLACK_SIGNING_SECRET})`}},
		{"unset env", "rules: [rules]\nsources:\n  - hackernews\n  - {type: hackernews}\n  - {type: feed, urls: [https://a.example]}\n  - {type: x, bearer_token: \"${KIZUKI_X_BEARER_TOKEN}\"}\n", []string{
			`kizuki.yaml:3: sources[0] must be a mapping, not a string (write it as {name: hn, type: hackernews})`,
			`kizuki.yaml:6: environment variable KIZUKI_X_BEARER_TOKEN is not set (needed by sources[3].bearer_token)`}},
		{"unset env in a value", "rules: [rules]\nsources:\n  - {type: mastodon, base_url: \"https://${NOPE}\"}\n",
			[]string{`kizuki.yaml:3: environment variable NOPE is not set (needed by sources[0].base_url)`}},
		{"listen not host:port", base + "http:\n  listen: 9090\n", []string{`kizuki.yaml:4: http.listen "9090" is not host:port (e.g. listen: 127.0.0.1:9090)`}},
		{"remote listen", base + "http:\n  listen: \":9090\"\n", []string{
			`kizuki.yaml:4: http.listen ":9090" accepts connections from other machines (listen on 127.0.0.1:9090, or set http.allow_remote: true if other machines must reach it)`}},
		{"slack missing", base + "slack:\n  api_url: ftp://x\n  channels: {riksy: \"#r\"}\n", []string{
			`kizuki.yaml:3: slack.bot_token is missing (add bot_token: ${KIZUKI_SLACK_BOT_TOKEN})`,
			`kizuki.yaml:3: slack.default_channel is missing (add default_channel: "#kizuki")`,
			`kizuki.yaml:4: slack.api_url "ftp://x" is not an http(s) URL (e.g. https://example.com)`,
			`kizuki.yaml:5: unknown category "riksy" in slack.channels (did you mean "risky"?)`}},
		{"bad digest", base + "digest:\n  schedule: \"0 25 * * *\"\n  respons_target: 2h\n  response_target: soon\n", []string{
			`kizuki.yaml:4: digest.schedule: schedule "0 25 * * *": "25" is not a hour (0-23) (` + scheduleForms + `)`,
			`kizuki.yaml:5: unknown key "respons_target" in digest (did you mean "response_target"?)`,
			`kizuki.yaml:6: digest.response_target "soon" is not a duration (write it like 90d, 36h or 30m)`}},
		{"channel as comment", base + "slack:\n  bot_token: ${KIZUKI_SLACK_BOT_TOKEN}\n  default_channel: #kizuki\n",
			[]string{`kizuki.yaml:5: slack.default_channel is empty (quote it: "#kizuki"; an unquoted # starts a comment)`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := getenv
			if strings.HasPrefix(tc.name, "unset") {
				env = func(string) string { return "" }
			}
			_, err := load(t, tc.src, env)
			var ps rules.Problems
			if !errors.As(err, &ps) {
				t.Fatalf("err = %v, want rules.Problems", err)
			}
			if got, want := err.Error(), strings.Join(tc.want, "\n"); got != want {
				t.Errorf("got\n%s\nwant\n%s", got, want)
			}
			if strings.Contains(err.Error(), "secret") && strings.Contains(err.Error(), "AAAA") || strings.Contains(err.Error(), "xoxb-1-2") {
				t.Errorf("a secret leaked into the error: %s", err)
			}
		})
	}
}

func TestCheckSchedule(t *testing.T) {
	for _, ok := range []string{"@every 2m", "@every 1h30m", "@hourly", "@daily", "* * * * *", "*/5 * * * *",
		"0 9-18/2 * * mon-fri", "30 8 1,15 jan-jun SUN", "0 0 ? * 0", "5/10 * * * *"} {
		if msg, hint := CheckSchedule(ok); msg != "" {
			t.Errorf("CheckSchedule(%q) = %q (%s), want ok", ok, msg, hint)
		}
	}
	for _, bad := range []string{"@weekly", "@every", "@every 0s", "@every soon", "0 0 * * * *", "60 * * * *",
		"* * 0 * *", "* * * 13 *", "* * * * 7", "5-1 * * * *", "*/0 * * * *", "a * * * *", ""} {
		if msg, _ := CheckSchedule(bad); msg == "" {
			t.Errorf("CheckSchedule(%q) ok, want a problem", bad)
		}
	}
}

func TestParseDuration(t *testing.T) {
	for s, want := range map[string]time.Duration{"90d": 90 * 24 * time.Hour, "1d12h": 36 * time.Hour, "36h": 36 * time.Hour, "30m": 30 * time.Minute} {
		if got, err := ParseDuration(s); err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
	for _, s := range []string{"d", "xd", "1d2", "90 days", "-1d"} {
		if _, err := ParseDuration(s); err == nil {
			t.Errorf("ParseDuration(%q) ok, want error", s)
		}
	}
	if FormatDuration(90*24*time.Hour) != "90d" || FormatDuration(90*time.Minute) != "1h30m0s" {
		t.Error("FormatDuration")
	}
}

// uncomment turns the starter's commented-out options into live ones.
var commentedOption = regexp.MustCompile(`(?m)^(\s*)#(\s*(- )?[a-z_]+:( |$))`)

func TestStarterLoads(t *testing.T) {
	c, err := load(t, Starter(), getenv)
	if err != nil {
		t.Fatalf("Starter does not load:\n%s", err)
	}
	if len(c.Sources) != 1 || c.Slack == nil || c.Slack.BotToken.Value() != "xoxb-secret-bot" {
		t.Errorf("starter config: %s", c)
	}
	// Every commented option is valid once uncommented.
	all := commentedOption.ReplaceAllString(Starter(), "$1$2")
	c, err = load(t, all, getenv)
	if err != nil {
		t.Fatalf("Starter with every option does not load:\n%s\n%s", err, all)
	}
	types := map[string]bool{}
	for _, s := range c.Sources {
		types[s.Type] = true
	}
	if len(types) != len(SourceTypes) || len(c.Slack.Channels) != 2 || !c.Slack.AppToken.IsSet() {
		t.Errorf("uncommented starter: %d types, %s", len(types), c)
	}
	// It says what is missing when the environment is empty.
	_, err = load(t, Starter(), func(string) string { return "" })
	if err == nil || !strings.Contains(err.Error(), "environment variable KIZUKI_SLACK_BOT_TOKEN is not set (needed by slack.bot_token)") {
		t.Errorf("empty environment: %v", err)
	}
}

func TestSecretsNeverPrinted(t *testing.T) {
	c, err := load(t, fullFile, getenv)
	if err != nil {
		t.Fatal(err)
	}
	r := c.Redacted()
	outputs := []string{c.String(), r.String(), fmt.Sprintf("%v %+v %#v %s %q %x", c, *c, *c, c.Slack.BotToken, c.Slack.BotToken, c.Slack.BotToken),
		fmt.Sprintf("%+v %#v", c.Sources, c.Sources), fmt.Sprintf("%+v", *c.Slack)}
	var b strings.Builder
	slog.New(slog.NewJSONHandler(&b, nil)).Info("config", "bot_token", c.Slack.BotToken, "sources", c.Sources)
	outputs = append(outputs, b.String())
	for _, out := range outputs {
		for name, v := range testEnv {
			if strings.Contains(name, "SECRET") || strings.Contains(name, "TOKEN") || strings.Contains(name, "PASSWORD") {
				if strings.Contains(out, v) {
					t.Errorf("secret %s printed in:\n%s", name, out)
				}
			}
		}
	}
	if !strings.Contains(c.String(), `bearer_token: "${KIZUKI_X_BEARER_TOKEN}"`) {
		t.Errorf("String() does not show the reference:\n%s", c)
	}
	// The redacted copy holds no value; the original keeps them.
	if r.Slack.BotToken.Value() != "" || r.Sources[3].Secrets["bearer_token"].Value() != "" || r.Sources[3].Secrets["bearer_token"].Env() != "KIZUKI_X_BEARER_TOKEN" {
		t.Errorf("Redacted kept a secret")
	}
	if c.Slack.BotToken.Value() != "xoxb-secret-bot" || c.Sources[3].Secrets["bearer_token"].Value() != "x-secret-bearer" {
		t.Errorf("Redacted changed the original")
	}
	if got := redactURL("https://u:p@example.com/feed?key=abc"); got != "https://example.com/feed?REDACTED" {
		t.Errorf("redactURL = %q", got)
	}
}
