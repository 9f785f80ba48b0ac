package main

import (
	"context"

	"github.com/kizuki-dev/kizuki/alerting"
)

// terminalSender delivers outbox messages (alerts, notices, thread replies, updates) to
// the terminal.
type terminalSender struct{ t *alerting.Terminal }

func (s terminalSender) Post(ctx context.Context, channel string, a alerting.Alert) (string, error) {
	return s.t.Post(ctx, channel, a)
}
