package daemon

import (
	"context"

	"github.com/kizuki-dev/kizuki/index"
	"github.com/kizuki-dev/kizuki/matcher"
	"github.com/kizuki-dev/kizuki/post"
	"github.com/kizuki-dev/kizuki/rules"
	"github.com/kizuki-dev/kizuki/store"
)

// IndexDoc is the index document of a decided post.
func IndexDoc(p *post.Post, d *matcher.Decision) index.Doc {
	doc := index.Doc{
		ID: p.ID, Platform: p.Platform, URL: p.URL, Brand: d.Brand, Category: string(d.Category),
		AuthorHandle: p.Author.Handle, AuthorName: p.Author.Name, Lang: p.Lang, Text: p.Text,
		Tagged: d.Tagged, InConversation: d.InConversation, Alert: d.Alert, Score: d.Score,
		Followers: p.Author.Followers, CreatedAt: p.CreatedAt, Analysis: d.Analysis,
	}
	for _, c := range p.Context {
		doc.Context = append(doc.Context, index.ContextPost{ID: c.ID, AuthorHandle: c.Author.Handle, Text: c.Text, CreatedAt: c.CreatedAt})
	}
	return doc
}

// StoreDecision is the store's copy of a decision.
func StoreDecision(d *matcher.Decision) store.Decision {
	return store.Decision{Brand: d.Brand, Category: string(d.Category), Score: d.Score, Alert: d.Alert,
		Relevant: d.Relevant, Tagged: d.Tagged, InConversation: d.InConversation, Reasons: d.Reasons}
}

// IndexRecorded is the index doc of a post the store recorded, for rebuilding the index
// from the store.
func IndexRecorded(r *store.Recorded) index.Doc {
	d := matcher.Decision{Brand: r.Decision.Brand, Category: rules.Category(r.Decision.Category), Score: r.Decision.Score,
		Alert: r.Decision.Alert, Relevant: r.Decision.Relevant, Tagged: r.Decision.Tagged, InConversation: r.Decision.InConversation}
	return IndexDoc(&r.Post, &d)
}

// StoreDocs gives an index its docs from the store, which keeps every post
// with its decision, so that the index need not keep a copy
// (index.Options.Docs).
type StoreDocs struct{ Store *store.Store }

// Docs returns the index docs of the posts of ids the store holds.
func (s StoreDocs) Docs(ctx context.Context, ids []string) (map[string]index.Doc, error) {
	recs, err := s.Store.GetPosts(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make(map[string]index.Doc, len(recs))
	for id, r := range recs {
		out[id] = IndexRecorded(&r)
	}
	return out, nil
}
