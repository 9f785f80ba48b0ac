package report

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"
)

// MarshalJSON writes durations as seconds.
func (t Timing) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Metric        string  `json:"metric"`
		Group         string  `json:"group"`
		Key           string  `json:"key,omitempty"`
		N             int     `json:"n"`
		MedianSeconds float64 `json:"median_seconds"`
		P90Seconds    float64 `json:"p90_seconds"`
	}{t.Metric, t.Group, t.Key, t.N, t.Median.Seconds(), t.P90.Seconds()})
}

// WriteJSON writes the report as one indented JSON object.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(r)
}

// csvColumns are the columns of the CSV form: one KPI per row. n counts alerts, cases or
// posts; of is what a share is of.
var csvColumns = []string{"section", "group", "key", "n", "of", "median_seconds", "p90_seconds", "share"}

// WriteCSV writes the report as CSV, one KPI per row, for spreadsheets.
func (r *Report) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	row := func(section, group, key string, n int, rest ...string) {
		rec := []string{section, group, key, strconv.Itoa(n), "", "", "", ""}
		copy(rec[4:], rest)
		_ = cw.Write(rec) // the error is kept by cw and returned by cw.Error
	}
	_ = cw.Write(csvColumns)
	row("alerts", "total", "", r.Alerts)
	for _, c := range r.ByCategory {
		row("alerts", "category", c.Name, c.N)
	}
	for _, c := range r.ByPlatform {
		row("alerts", "platform", c.Name, c.N)
	}
	for _, d := range r.ByDay {
		row("alerts", "day", d.Date, d.N)
		row("alerts", "day_risky", d.Date, d.Risky)
		row("alerts", "day_actionable", d.Date, d.Actionable)
		row("alerts", "day_positive", d.Date, d.Positive)
	}
	for _, t := range r.Times {
		row(t.Metric, t.Group, t.Key, t.N, "", seconds(t.Median), seconds(t.P90))
	}
	for _, c := range r.Cases {
		row("cases", "status", c.Name, c.N)
	}
	for _, s := range r.NotRelevant {
		row("not_relevant", s.Kind, s.Name, s.NotRelevant, strconv.Itoa(s.Alerts), "", "", strconv.FormatFloat(s.Share, 'f', -1, 64))
	}
	for _, q := range r.Questions {
		row("recurring_questions", "term", q.Term, q.Posts)
	}
	if r.PostsMissing > 0 {
		row("alerts", "posts_missing", "", r.PostsMissing)
	}
	cw.Flush()
	return cw.Error()
}

func seconds(d time.Duration) string { return strconv.FormatFloat(d.Seconds(), 'f', -1, 64) }

var metricTitles = map[string]string{
	TimeToDetect:  "time to detect (post → alert)",
	FirstResponse: "first response (alert → claim)",
	TimeToResolve: "time to resolve (alert → resolved)",
}

// WriteTable writes the report for people.
func (r *Report) WriteTable(w io.Writer) error {
	loc, err := time.LoadLocation(r.Timezone)
	if err != nil {
		loc = time.UTC
	}
	var b strings.Builder
	scope := "all brands"
	if r.Brand != "" {
		scope = r.Brand
	}
	fmt.Fprintf(&b, "Kizuki report  %s → %s (%s)  %s\n\n", when(r.Since, loc), when(r.Until, loc), r.Timezone, scope)

	fmt.Fprintf(&b, "ALERTS  %d\n", r.Alerts)
	fmt.Fprintf(&b, "  by category  %s\n", joinCounts(r.ByCategory))
	fmt.Fprintf(&b, "  by platform  %s\n", joinCounts(r.ByPlatform))
	if r.PostsMissing > 0 {
		noun := "posts"
		if r.PostsMissing == 1 {
			noun = "post"
		}
		fmt.Fprintf(&b, "  (%d %s deleted by retention: no time to detect, no text)\n", r.PostsMissing, noun)
	}
	if len(r.ByDay) > 0 {
		b.WriteString("\n  day         alerts  risky  actionable  positive\n")
		for _, d := range r.ByDay {
			fmt.Fprintf(&b, "  %-10s  %6d  %5d  %10d  %8d\n", d.Date, d.N, d.Risky, d.Actionable, d.Positive)
		}
	}

	b.WriteString("\nTIMES\n")
	writeTimes(&b, r.Times)
	b.WriteString("\nCASES  " + joinCounts(r.Cases) + "\n")

	b.WriteString("\nNOT RELEVANT  (share of alerts marked not relevant: the rules and signals to tune)\n")
	if len(r.NotRelevant) == 0 {
		b.WriteString("  none\n")
	} else {
		tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  \tname\talerts\tnot relevant\tshare")
		for _, s := range r.NotRelevant {
			fmt.Fprintf(tw, "  %s\t%s\t%d\t%d\t%s\n", s.Kind, s.Name, s.Alerts, s.NotRelevant, percent(s.Share))
		}
		tw.Flush()
	}

	b.WriteString("\nRECURRING QUESTIONS  (terms and phrases of actionable posts: FAQ candidates)\n")
	if len(r.Questions) == 0 {
		b.WriteString("  none yet (a term must appear in 2 posts)\n")
	} else {
		for _, q := range r.Questions {
			fmt.Fprintf(&b, "  %4d  %s\n", q.Posts, q.Term)
		}
	}
	_, err = io.WriteString(w, b.String())
	return err
}

// writeTimes writes the time KPIs as a table: names left, numbers right.
func writeTimes(b *strings.Builder, times []Timing) {
	type line struct{ name, n, med, p90 string }
	lines := []line{{"", "n", "median", "p90"}}
	metric, group := "", ""
	for _, t := range times {
		if t.Metric != metric {
			metric, group = t.Metric, ""
			lines = append(lines, line{name: "  " + metricTitles[t.Metric]})
		}
		name := "    all"
		switch t.Group {
		case groupCategory:
			name = "    " + t.Key
		case groupOperator:
			if group != groupOperator {
				lines = append(lines, line{name: "    by operator"})
			}
			name = "      " + t.Key
		}
		group = t.Group
		lines = append(lines, line{name, strconv.Itoa(t.N), Duration(t.Median), Duration(t.P90)})
	}
	if len(times) == 0 {
		lines = append(lines, line{name: "  none"})
	}
	width := 0
	for _, l := range lines {
		if l.n != "" {
			width = max(width, utf8.RuneCountInString(l.name))
		}
	}
	for _, l := range lines {
		if l.n == "" {
			b.WriteString(l.name + "\n")
			continue
		}
		pad := strings.Repeat(" ", width-utf8.RuneCountInString(l.name))
		fmt.Fprintf(b, "%s%s  %5s  %7s  %7s\n", l.name, pad, l.n, l.med, l.p90)
	}
}

func when(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return "the beginning"
	}
	return t.In(loc).Format("2006-01-02 15:04")
}

func joinCounts(cs []Count) string {
	if len(cs) == 0 {
		return "none"
	}
	parts := make([]string, len(cs))
	for i, c := range cs {
		parts[i] = fmt.Sprintf("%s %d", c.Name, c.N)
	}
	return strings.Join(parts, " · ")
}

func percent(x float64) string {
	return strconv.FormatFloat(x*100, 'f', 0, 64) + "%"
}

// Duration writes a duration for people: 45s, 1m30s, 12m, 1h05m, 2d3h.
func Duration(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Round(time.Second)/time.Second))
	case d < 10*time.Minute && d.Round(time.Second)%time.Minute != 0:
		d = d.Round(time.Second)
		return fmt.Sprintf("%dm%02ds", int(d/time.Minute), int(d%time.Minute/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Round(time.Minute)/time.Minute))
	case d < 24*time.Hour:
		d = d.Round(time.Minute)
		return fmt.Sprintf("%dh%02dm", int(d/time.Hour), int(d%time.Hour/time.Minute))
	}
	d = d.Round(time.Hour)
	return fmt.Sprintf("%dd%dh", int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour))
}
