package jwks

import "container/list"

// negCache is a bounded LRU (max > 0) of kids that stayed unknown after a refresh.
// An entry only counts while the set generation it was recorded against is
// current: the next successful fetch gives every kid another chance. Not
// safe for concurrent use; Remote guards it with its mutex.
type negCache struct {
	max   int
	order *list.List // front = most recent; values are *negEntry
	byKID map[string]*list.Element
}

type negEntry struct {
	kid string
	gen uint64
}

func newNegCache(max int) *negCache {
	return &negCache{max: max, order: list.New(), byKID: make(map[string]*list.Element)}
}

func (c *negCache) contains(kid string, gen uint64) bool {
	e, ok := c.byKID[kid]
	if !ok {
		return false
	}
	if e.Value.(*negEntry).gen != gen {
		c.order.Remove(e)
		delete(c.byKID, kid)
		return false
	}
	c.order.MoveToFront(e)
	return true
}

func (c *negCache) add(kid string, gen uint64) {
	if e, ok := c.byKID[kid]; ok {
		e.Value.(*negEntry).gen = gen
		c.order.MoveToFront(e)
		return
	}
	c.byKID[kid] = c.order.PushFront(&negEntry{kid: kid, gen: gen})
	for c.order.Len() > c.max {
		last := c.order.Back()
		c.order.Remove(last)
		delete(c.byKID, last.Value.(*negEntry).kid)
	}
}

func (c *negCache) len() int { return c.order.Len() }
