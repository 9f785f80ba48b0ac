// Package post holds the Post type shared by every part of Kizuki and its
// JSON Lines form, the contract described in DESIGN.md. It imports nothing of
// Kizuki's own.
package post

import (
	"time"
)

// Author is who wrote a post, as the platform reports it.
type Author struct {
	ID        string `json:"id"`
	Handle    string `json:"handle"`
	Name      string `json:"name,omitempty"`
	Followers int    `json:"followers"`
}

// Metrics are engagement counts at the time the post was fetched.
type Metrics struct {
	Likes   int `json:"likes"`
	Reposts int `json:"reposts"`
	Replies int `json:"replies"`
	Quotes  int `json:"quotes"`
}

// Post is one post of any platform. IDs carry the platform as a prefix
// ("x:1001") so that ids of different platforms never collide.
type Post struct {
	ID             string    `json:"id"`
	Platform       string    `json:"platform"`
	URL            string    `json:"url,omitempty"`
	Author         Author    `json:"author"`
	Text           string    `json:"text"`
	Lang           string    `json:"lang,omitempty"`
	CreatedAt      time.Time `json:"created_at"`
	ReplyTo        string    `json:"reply_to,omitempty"`
	ConversationID string    `json:"conversation_id,omitempty"`
	Metrics        Metrics   `json:"metrics"`
	// Mentions and Hashtags are what the platform reports, without "@" and
	// "#". Nil means the platform gave none and they may be extracted from
	// the text; see MentionsOrExtract.
	Mentions []string `json:"mentions,omitempty"`
	Hashtags []string `json:"hashtags,omitempty"`
	// Context holds the earlier posts of the thread, oldest first. Posts in
	// Context carry no Context of their own.
	Context []Post `json:"context,omitempty"`
}

// Parent returns the post this one replies to, if it is in the context.
func (p *Post) Parent() (Post, bool) {
	if p.ReplyTo == "" {
		return Post{}, false
	}
	for i := len(p.Context) - 1; i >= 0; i-- {
		if p.Context[i].ID == p.ReplyTo {
			return p.Context[i], true
		}
	}
	return Post{}, false
}
