package alerting

// The daily digest: one Slack message with yesterday's numbers, the open cases that waited
// longer than the response target, the best positive posts and any surge. package report
// gathers the numbers (report.BuildDigest); this lays them out.

import (
	"fmt"
	"strings"
	"time"

	"github.com/slack-go/slack"
)

// Limits of the digest.
const (
	maxDigestCases    = 8
	maxDigestPositive = 5
	maxDigestSurges   = 5
)

// Digest is what the daily digest shows. Counts are of the day that starts at Day (local
// midnight in Location) and lasts until the next midnight.
type Digest struct {
	Day      time.Time
	Location *time.Location
	// Alerts per category, in the order shown (risky, actionable, positive).
	Alerts []DigestCount
	// Brands are alerts per brand, most first.
	Brands []DigestCount
	// Cases of the day: claimed, resolved and dismissed as not relevant (by their events
	// of that day).
	Claimed, Resolved, Dismissed int
	// FirstResponse and Resolve are the median and 90th percentile of the day's alerts
	// that got one; N how many did.
	FirstResponse DigestTimes
	Resolve       DigestTimes
	// ResponseTarget is the first-response target; Overdue are the open (unclaimed)
	// cases older than it, oldest first, and OverdueTotal how many there are in all.
	ResponseTarget time.Duration
	Overdue        []DigestCase
	OverdueTotal   int
	// Positive are the best positive posts of the day.
	Positive []NoticePost
	// Surges that were open at some time of the day, or are open now.
	Surges []DigestSurge
	// Now is when the digest was made: the ages of overdue cases count to it.
	Now time.Time
}

// DigestCount is a number of alerts of one category or brand.
type DigestCount struct {
	Name string
	N    int
}

// DigestTimes are the median and 90th percentile of some durations.
type DigestTimes struct {
	N           int
	Median, P90 time.Duration
}

// DigestCase is an overdue case: an open alert nobody claimed.
type DigestCase struct {
	NoticePost
	Brand    string
	Status   string
	OpenedAt time.Time
}

// DigestSurge is a surge in the digest.
type DigestSurge struct {
	Brand     string
	Status    string // store.SurgeOpen, SurgeEnded, SurgeClosed
	StartedAt time.Time
	EndedAt   time.Time
	Peak      int
	Expected  float64
}

// DigestText is the notification text of the digest.
func DigestText(d Digest) string {
	total := 0
	for _, c := range d.Alerts {
		total += c.N
	}
	s := fmt.Sprintf("Kizuki digest %s: %d alerts, %d resolved, %d open past the %s target",
		d.Day.In(orUTC(d.Location)).Format("Mon 1/2"), total, d.Resolved, d.OverdueTotal, shortDuration(d.ResponseTarget))
	if len(d.Surges) > 0 {
		s += fmt.Sprintf(", %d surge", len(d.Surges))
		if len(d.Surges) > 1 {
			s += "s"
		}
	}
	return cut(Escape(s), maxFallbackLen)
}

// DigestBlocks lays out the digest. Every text from posts and rules is escaped.
func DigestBlocks(d Digest) []slack.Block {
	loc := orUTC(d.Location)
	day := d.Day.In(loc)
	blocks := []slack.Block{section("kizuki_digest_head",
		fmt.Sprintf(":sunrise: *Kizuki daily digest — %s*  (%s)", day.Format("Mon 2006-01-02"), Escape(loc.String())))}

	// The day's numbers.
	total := 0
	var parts []string
	for _, c := range d.Alerts {
		total += c.N
		parts = append(parts, fmt.Sprintf("%s %d", Escape(c.Name), c.N))
	}
	nums := fmt.Sprintf("*%d alerts*", total)
	if len(parts) > 0 {
		nums += "  —  " + strings.Join(parts, " · ")
	}
	if len(d.Brands) > 1 {
		var bs []string
		for _, b := range d.Brands {
			bs = append(bs, fmt.Sprintf("%s %d", Escape(b.Name), b.N))
		}
		nums += "\nby brand: " + strings.Join(bs, " · ")
	}
	nums += fmt.Sprintf("\n*Cases:* %d claimed · %d resolved · %d not relevant", d.Claimed, d.Resolved, d.Dismissed)
	nums += "\n*First response:* " + digestTimes(d.FirstResponse, "answered")
	nums += "\n*Time to resolve:* " + digestTimes(d.Resolve, "resolved")
	blocks = append(blocks, section("kizuki_digest_numbers", cut(nums, maxSectionText)))

	if len(d.Surges) > 0 {
		var lines []string
		for i, s := range d.Surges {
			if i == maxDigestSurges {
				lines = append(lines, fmt.Sprintf("…and %d more", len(d.Surges)-i))
				break
			}
			lines = append(lines, digestSurgeLine(s, loc))
		}
		blocks = append(blocks, section("kizuki_digest_surges", cut(":fire: *Surges*\n"+strings.Join(lines, "\n"), maxSectionText)))
	}

	if d.OverdueTotal == 0 {
		blocks = append(blocks, section("kizuki_digest_overdue",
			fmt.Sprintf(":white_check_mark: No open case is older than the %s response target.", shortDuration(d.ResponseTarget))))
	} else {
		noun := "cases"
		if d.OverdueTotal == 1 {
			noun = "case"
		}
		blocks = append(blocks, section("kizuki_digest_overdue",
			fmt.Sprintf(":hourglass: *%d open %s older than the %s response target*", d.OverdueTotal, noun, shortDuration(d.ResponseTarget))))
		for i, c := range d.Overdue {
			if i == maxDigestCases {
				break
			}
			line := fmt.Sprintf("%s · %s old · ", bold(Escape(c.Brand)), shortDuration(d.Now.Sub(c.OpenedAt)))
			blocks = append(blocks, section(fmt.Sprintf("kizuki_digest_case_%d", i+1), cut(line+noticePostLine(c.NoticePost, loc), maxSectionText)))
		}
		if n := d.OverdueTotal - min(len(d.Overdue), maxDigestCases); n > 0 {
			blocks = append(blocks, contextBlock("kizuki_digest_more", mrkdwn(fmt.Sprintf("…and %d more open past the target", n))))
		}
	}

	if len(d.Positive) > 0 {
		blocks = append(blocks, section("kizuki_digest_positive", ":sparkling_heart: *Best positive posts* — worth a thank-you"))
		for i, p := range d.Positive {
			if i == maxDigestPositive {
				break
			}
			blocks = append(blocks, section(fmt.Sprintf("kizuki_digest_positive_%d", i+1), noticePostLine(p, loc)))
		}
	}
	if len(blocks) > maxBlocks {
		blocks = blocks[:maxBlocks]
	}
	return blocks
}

// DigestMessage is the digest as an outbox message (KindNotice).
func DigestMessage(d Digest) Alert {
	return NoticeMessage(DigestText(d), DigestBlocks(d))
}

func digestTimes(t DigestTimes, what string) string {
	if t.N == 0 {
		return "none " + what
	}
	return fmt.Sprintf("median %s, 90%% within %s (%d %s)", shortDuration(t.Median), shortDuration(t.P90), t.N, what)
}

func digestSurgeLine(s DigestSurge, loc *time.Location) string {
	line := fmt.Sprintf("• %s since %s, peak %d (usually %s)", bold(Escape(s.Brand)), s.StartedAt.In(loc).Format("1/2 15:04"), s.Peak, decimal(s.Expected))
	switch {
	case s.Status == "open" || s.EndedAt.IsZero():
		line += " — *still open*"
	case s.Status == "closed":
		line += fmt.Sprintf(" — closed %s after %s", s.EndedAt.In(loc).Format("1/2 15:04"), shortDuration(s.EndedAt.Sub(s.StartedAt)))
	default:
		line += fmt.Sprintf(" — back to normal %s after %s", s.EndedAt.In(loc).Format("1/2 15:04"), shortDuration(s.EndedAt.Sub(s.StartedAt)))
	}
	return line
}
