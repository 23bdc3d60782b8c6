package ciscogta

import (
	"container/list"
	"sync"
	"time"
)

// cache is a bounded map whose entries expire: parents change (an alert's risk, a detection's
// alerts) and an endless stream of events must not grow it without bound. Beyond size, the
// least recently used entry goes first.
type cache[V any] struct {
	size int
	ttl  time.Duration
	now  func() time.Time

	mu    sync.Mutex
	order *list.List // of *entry[V], most recently used first
	items map[string]*list.Element
}

type entry[V any] struct {
	key     string
	value   V
	expires time.Time
}

func newCache[V any](size int, ttl time.Duration) *cache[V] {
	return &cache[V]{size: size, ttl: ttl, now: time.Now, order: list.New(), items: map[string]*list.Element{}}
}

func (c *cache[V]) get(key string) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[key]
	if !ok {
		var zero V
		return zero, false
	}
	e := el.Value.(*entry[V])
	if !c.now().Before(e.expires) {
		c.order.Remove(el)
		delete(c.items, key)
		var zero V
		return zero, false
	}
	c.order.MoveToFront(el)
	return e.value, true
}

func (c *cache[V]) put(key string, value V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	expires := c.now().Add(c.ttl)
	if el, ok := c.items[key]; ok {
		e := el.Value.(*entry[V])
		e.value, e.expires = value, expires
		c.order.MoveToFront(el)
		return
	}
	c.items[key] = c.order.PushFront(&entry[V]{key: key, value: value, expires: expires})
	for c.order.Len() > c.size {
		oldest := c.order.Back()
		c.order.Remove(oldest)
		delete(c.items, oldest.Value.(*entry[V]).key)
	}
}
