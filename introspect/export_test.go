package introspect

// Waiters returns how many Introspect calls joined the call in flight for
// token, 0 when there is none.
func Waiters(c *Client, token string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if f, ok := c.flights[hashToken(token)]; ok {
		return int(f.waiters.Load())
	}
	return 0
}

// InFlight returns the number of calls in flight.
func InFlight(c *Client) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.flights)
}

// CacheLen returns the number of cache entries, -1 without a cache.
func CacheLen(c *Client) int {
	if c.cache == nil {
		return -1
	}
	return c.cache.len()
}
