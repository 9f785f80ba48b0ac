package config

// Starter returns a starter kizuki.yaml (written by `kizuki init`): every
// option, explained, with the optional ones commented out. It loads as is
// once the environment variables it references are set.
func Starter() string { return starter }

const starter = `# kizuki.yaml: the Kizuki daemon's configuration (kizuki run --config kizuki.yaml).
# Check it with: kizuki check --config kizuki.yaml
# Relative paths are read from the directory of this file.
#
# Secrets are never written here. Write them as ${ENV_NAME} references, which
# are read from the environment when the daemon starts; a reference to a
# variable that is not set stops the start with an error.

# Time zone for quiet hours, the digest and the times shown in alerts:
# an IANA name such as Asia/Tokyo, or Local (the machine's, UTC if unset).
timezone: Local

# Where the store (bbolt) and the search index (Bleve) live.
data_dir: kizuki-data

# Directories of rule files, one YAML file per brand or topic.
rules: [rules/]

# Logging: level is debug, info, warn or error; format is text or json.
log:
  level: info
  format: text

# Health (/healthz), Prometheus metrics (/metrics) and Slack interactions
# (/slack/interactions). Only this machine can connect unless allow_remote
# is true; put a TLS reverse proxy in front before you allow it.
http:
  listen: 127.0.0.1:9090
  #allow_remote: false

# Slack alerts. Without this section, alerts are printed in the terminal.
# Bot scopes: chat:write; channels:history and groups:history (so a crash never
# posts an alert twice); channels:read and groups:read when channels are names.
slack:
  bot_token: ${KIZUKI_SLACK_BOT_TOKEN}
  # The signing secret verifies interactions sent to the Request URL.
  #signing_secret: ${KIZUKI_SLACK_SIGNING_SECRET}
  # With Socket Mode, the app-level token (connections:write) instead.
  #app_token: ${KIZUKI_SLACK_APP_TOKEN}
  # Another Slack API base URL (a proxy, tests); empty for Slack's own.
  #api_url: https://slack.com/api/
  default_channel: "#kizuki"
  # Operator notices (a source that stopped bringing posts); default_channel if unset.
  #ops_channel: "#kizuki-ops"
  # A channel per category (actionable, risky, positive) instead of the default.
  #channels:
  #  risky: "#kizuki-risk"
  #  positive: "#kizuki-praise"

# A daily digest to Slack: yesterday's numbers, open cases older than the
# response target, the best positive posts, any surge. Off without this section.
#digest:
#  channel: "#kizuki"
#  schedule: "0 9 * * *"
#  response_target: 1h

# How long posts are kept in the store and the index (d = days).
retention:
  posts: 90d

# Where to look for posts. Each source has a unique name (default: its type),
# a type, and a schedule: "@every 2m", "@hourly", "@daily" or 5 cron fields
# (minute hour day-of-month month day-of-week). Each type has a default
# schedule; base_url points a source at another server, a proxy or a fake.
sources:
  # Hacker News stories and comments, through Algolia. Needs nothing.
  - name: hn
    type: hackernews
    schedule: "@every 2m"
    # After this long with no posts (or only errors), one operator notice;
    # three schedule intervals by default, and at least 30m.
    #stall_after: 6h
    #base_url: https://hn.algolia.com/api/v1
    #firebase_url: https://hacker-news.firebaseio.com/v0
    # Every source but file takes a daily_budget: requests per UTC day (posts
    # on x). When it runs low, engagement re-polls stop first, then threads.
    #daily_budget: 5000

  # RSS or Atom feeds, for example Google Alerts delivered to a feed.
  #- name: alerts
  #  type: feed
  #  schedule: "@every 10m"
  #  urls: [https://www.google.com/alerts/feeds/00000000000000000000/0000000000000000000]

  # Mastodon: hashtag timelines need nothing; a token (read:search) adds
  # full-text search on that instance.
  #- name: mastodon-social
  #  type: mastodon
  #  base_url: https://mastodon.social
  #  schedule: "@every 2m"
  #  hashtags: [kumomobile]
  #  token: ${KIZUKI_MASTODON_TOKEN}

  # Reddit, as a script app (reddit.com/prefs/apps).
  #- name: reddit
  #  type: reddit
  #  schedule: "@every 5m"
  #  client_id: ${KIZUKI_REDDIT_CLIENT_ID}
  #  client_secret: ${KIZUKI_REDDIT_CLIENT_SECRET}
  #  username: ${KIZUKI_REDDIT_USERNAME}
  #  password: ${KIZUKI_REDDIT_PASSWORD}
  #  user_agent: "kizuki/0 by your_reddit_name"
  #  subreddits: [golang]
  #  auth_url: https://www.reddit.com
  #  base_url: https://oauth.reddit.com

  # X (API v2 recent search). X bills each post read: daily_budget caps the
  # posts read per UTC day (0 is unlimited).
  #- name: x
  #  type: x
  #  schedule: "@every 5m"
  #  bearer_token: ${KIZUKI_X_BEARER_TOKEN}
  #  daily_budget: 10000
  #  base_url: https://api.x.com

  # Bluesky, with an app password (Settings, App passwords).
  #- name: bluesky
  #  type: bluesky
  #  schedule: "@every 2m"
  #  identifier: ${KIZUKI_BLUESKY_IDENTIFIER}
  #  app_password: ${KIZUKI_BLUESKY_APP_PASSWORD}
  #  base_url: https://bsky.social

  # A JSON Lines file of posts, read as it grows ("-" reads stdin).
  #- name: file
  #  type: file
  #  schedule: "@every 30s"
  #  path: posts.jsonl
  #  skip_bad: false
`
