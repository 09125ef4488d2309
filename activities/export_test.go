package activities

import "time"

// SetKeepAliveEvery shortens the heartbeat period for a test.
func SetKeepAliveEvery(d time.Duration) (restore func()) {
	saved := keepAliveEvery
	keepAliveEvery = d
	return func() { keepAliveEvery = saved }
}

// SetOrderSettleWindow shortens how long an uncertain order is looked for.
func SetOrderSettleWindow(d time.Duration) (restore func()) {
	saved := orderSettleWindow
	orderSettleWindow = d
	return func() { orderSettleWindow = saved }
}
