// Package store keeps Kizuki's state in one bbolt file: the posts already seen with their
// decisions, source cursors, cases and their history, per-author contact history, the alert
// outbox, tracked posts' engagement samples and hourly counters; each verb is one transaction.
package store
