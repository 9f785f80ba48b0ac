package main

import (
	"context"
	"fmt"

	"github.com/kizuki-dev/kizuki/alerting"
)

// terminalSender delivers outbox messages to the terminal.
type terminalSender struct{ t *alerting.Terminal }

func (s terminalSender) Post(_ context.Context, _ string, a alerting.Alert) (string, error) {
	switch a.Kind {
	case alerting.KindNotice:
		_, err := fmt.Fprintf(s.t.W, "▶ %s\n\n", a.Text)
		return "", err
	case alerting.KindReply:
		_, err := fmt.Fprintf(s.t.W, "  ↳ (%s) %s\n\n", a.ThreadKey, a.Text)
		return "", err
	}
	return "", s.t.Notify(&a.Post, &a.Decision)
}
