package hubspot

import "time"

// SetRetryWaits shortens the client's retry waits for tests.
func SetRetryWaits(c *Client, backoff, secondly time.Duration) {
	c.backoffInitial, c.backoffMax, c.secondlyWait = backoff, 4*backoff, secondly
}
