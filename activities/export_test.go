package activities

import "time"

// SetKeepAliveEvery shortens the heartbeat period for a test.
func SetKeepAliveEvery(d time.Duration) (restore func()) {
	saved := keepAliveEvery
	keepAliveEvery = d
	return func() { keepAliveEvery = saved }
}
