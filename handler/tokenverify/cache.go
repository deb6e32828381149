package tokenverify

import (
	"sync"
	"time"
)

// cache maps SHA-256(token) to the verified identity. Only fully verified tokens enter it, and
// an entry is worthless after exp, so a bounded map with sweep-on-full is enough: when full, we
// drop expired entries and, if that frees nothing, start over (the next request of each user
// re-verifies once, which costs one RSA verification).
type cache struct {
	mu  sync.RWMutex
	max int
	m   map[[32]byte]*Identity
}

func newCache(max int) *cache { return &cache{max: max, m: make(map[[32]byte]*Identity)} }

func (c *cache) get(k [32]byte) (*Identity, bool) {
	c.mu.RLock()
	id, ok := c.m[k]
	c.mu.RUnlock()
	return id, ok
}

func (c *cache) put(k [32]byte, id *Identity, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= c.max {
		for key, v := range c.m {
			if now.After(v.ExpiresAt) {
				delete(c.m, key)
			}
		}
		if len(c.m) >= c.max {
			clear(c.m)
		}
	}
	c.m[k] = id
}

func (c *cache) delete(k [32]byte) {
	c.mu.Lock()
	delete(c.m, k)
	c.mu.Unlock()
}

func (c *cache) len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.m)
}
