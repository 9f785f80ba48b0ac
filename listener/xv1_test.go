package listener

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

type xv1Rewrite struct{ target *url.URL }

func (r xv1Rewrite) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	req.URL.Scheme, req.URL.Host = r.target.Scheme, r.target.Host
	return http.DefaultTransport.RoundTrip(req)
}

const xv1SearchBody = `{"statuses":[{"created_at":"Thu Aug 20 14:03:11 +0000 2026","id":1958000000000000001,"id_str":"1958000000000000001",
 "full_text":"@AcmeSupport your app ate my order again #fail","truncated":false,"display_text_range":[0,46],"lang":"en",
 "entities":{"hashtags":[{"text":"fail","indices":[41,46]}],"symbols":[],"urls":[],
   "user_mentions":[{"screen_name":"AcmeSupport","name":"Acme Support","id":123,"id_str":"123","indices":[0,12]}]},
 "in_reply_to_status_id":1957999999999999999,"in_reply_to_status_id_str":"1957999999999999999",
 "in_reply_to_user_id":123,"in_reply_to_user_id_str":"123","in_reply_to_screen_name":"AcmeSupport",
 "user":{"id":456,"id_str":"456","name":"Jane Doe","screen_name":"janedoe","followers_count":1520,"verified":false},
 "retweet_count":4,"favorite_count":19,"retweeted":false,"favorited":false,"is_quote_status":false}],
 "search_metadata":{"completed_in":0.031,"max_id":1958000000000000001,"max_id_str":"1958000000000000001",
  "query":"acme","count":100,"since_id":0,"since_id_str":"0"}}`

func xv1TestSource(t *testing.T, h http.HandlerFunc, waits *[]time.Duration) *XV1 {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	x, err := NewXV1(XV1Options{HTTP: &http.Client{Transport: xv1Rewrite{u}}, Sleep: func(_ context.Context, d time.Duration) error {
		*waits = append(*waits, d)
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	return x
}

func TestXV1SearchEmpty429(t *testing.T) {
	var waits []time.Duration
	var reqs []string
	n := 0
	x := xv1TestSource(t, func(w http.ResponseWriter, r *http.Request) {
		reqs = append(reqs, r.URL.Path+"?"+r.URL.RawQuery)
		n++
		if n == 1 { // empty-bodied 429: go-twitter alone would return no error
			w.Header().Set("x-rate-limit-reset", strconv.FormatInt(time.Now().Unix()+20, 10))
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		w.Write([]byte(xv1SearchBody))
	}, &waits)
	page, err := x.Search(context.Background(), Query{Keywords: []string{"acme"}, Languages: []string{"en"}}, "1957000000000000000")
	if err != nil {
		t.Fatal(err)
	}
	if len(waits) != 1 || waits[0] < 15*time.Second || waits[0] > 21*time.Second || x.RateLimitReset().IsZero() {
		t.Errorf("waits %v reset %v", waits, x.RateLimitReset())
	}
	q, _ := url.ParseQuery(strings.SplitN(reqs[1], "?", 2)[1])
	if !strings.HasPrefix(reqs[1], "/1.1/search/tweets.json?") || q.Get("since_id") != "1957000000000000000" ||
		q.Get("tweet_mode") != "extended" || q.Get("q") != `"acme" -filter:retweets` || q.Get("lang") != "en" {
		t.Errorf("request %s", reqs[1])
	}
	if len(page.Posts) != 1 || page.Cursor != "1958000000000000001" {
		t.Fatalf("page %+v", page)
	}
	p := page.Posts[0]
	if p.ID != "x:1958000000000000001" || p.URL != "https://x.com/janedoe/status/1958000000000000001" || p.Author.Followers != 1520 ||
		p.ReplyTo != "x:1957999999999999999" || p.Metrics.Likes != 19 || p.Mentions[0] != "AcmeSupport" || p.Hashtags[0] != "fail" {
		t.Errorf("post %+v", p)
	}

	// Two 429s in a row (empty, then code 88): an error, not an empty page.
	n = -10
	x2 := xv1TestSource(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("x-rate-limit-reset", strconv.FormatInt(time.Now().Unix()+20, 10))
		w.WriteHeader(http.StatusTooManyRequests)
		if r.URL.Query().Get("max_id") == "" && len(waits) > 1 {
			w.Write([]byte(`{"errors":[{"code":88,"message":"Rate limit exceeded"}]}`))
		}
	}, &waits)
	_, err = x2.Search(context.Background(), Query{Keywords: []string{"acme"}}, "1957000000000000000")
	var se *StatusError
	if !errors.As(err, &se) || se.Status != 429 {
		t.Fatalf("err = %v", err)
	}
}
