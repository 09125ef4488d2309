package notify

import (
	"context"
	"errors"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// documentedLimit is what each platform's docs promise a robot, written
// here apart from the product's paces: at most n messages in any window of
// per; over it, the platform's throttle answer and how long it blocks.
type documentedLimit struct {
	n     int
	per   time.Duration
	block time.Duration
	// throttle answers as the platform does when the robot went over.
	throttle func(w http.ResponseWriter)
}

var documentedLimits = map[string][]documentedLimit{
	// DingTalk: 20 a minute, then 130101 and a 10-minute block.
	TypeDingTalk: {{20, time.Minute, 10 * time.Minute, func(w http.ResponseWriter) {
		_, _ = io.WriteString(w, `{"errcode":130101,"errmsg":"send too fast, exceed 20 times per minute"}`)
	}}},
	// WeCom: 20 a minute, 45009 beyond (no longer block documented).
	TypeWeCom: {{20, time.Minute, time.Minute, func(w http.ResponseWriter) {
		_, _ = io.WriteString(w, `{"errcode":45009,"errmsg":"api freq out of limit"}`)
	}}},
	// Feishu: 5 a second and 100 a minute, 11232 beyond.
	TypeFeishu: {
		{5, time.Second, time.Minute, func(w http.ResponseWriter) { _, _ = io.WriteString(w, `{"code":11232,"msg":"frequency limited"}`) }},
		{100, time.Minute, time.Minute, func(w http.ResponseWriter) { _, _ = io.WriteString(w, `{"code":11232,"msg":"frequency limited"}`) }},
	},
}

// TestPacesKeepEveryWindowUnderItsLimitDespiteJitter: messages leaving at
// the robot's pace put at most n in any window of the platform's, even
// when each arrives up to 2 s later than the one after it.
func TestPacesKeepEveryWindowUnderItsLimitDespiteJitter(t *testing.T) {
	const jitter = 2 * time.Second
	for typ, limits := range documentedLimits {
		p := (&Channel{Type: typ}).Pace()
		require.Positive(t, p.PerSecond, typ)
		// The limiter never spaces slots closer than a whole millisecond
		// interval rounded up (store.NewRateLimiter, burst 1 at these rates).
		interval := time.Duration(math.Ceil(1000/p.PerSecond)) * time.Millisecond
		for _, l := range limits {
			span := time.Duration(l.n) * interval // from the first to the (n+1)-th message
			assert.Greater(t, span-jitter, l.per, "%s: %d messages at the pace of %v fit in %v with %v of jitter", typ, l.n+1, interval, l.per, jitter)
		}
	}
}

// TestAThrottleWaitsForThePlatformsBlock: a robot's throttle code is
// retried after the platform's documented block, not a fixed minute.
func TestAThrottleWaitsForThePlatformsBlock(t *testing.T) {
	t.Setenv("T_SECRET", "sekret")
	for typ, limits := range documentedLimits {
		for _, l := range limits {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { l.throttle(w) }))
			ch := &Channel{Name: "c", Type: typ, URL: Ref(srv.URL + "/robot/send?access_token=tok")}
			if typ != TypeWeCom {
				ch.Secret = "env:T_SECRET"
			}
			require.NoError(t, ch.check())
			err := ch.Send(context.Background(), Message{ID: "m1", Digest: Digest{Route: "r", Language: "en", Threshold: 7}})
			srv.Close()
			var se *SendError
			require.True(t, errors.As(err, &se), "%s: %v", typ, err)
			assert.Equal(t, ClassRateLimited, se.Class, "%s: %s", typ, se.Msg)
			assert.GreaterOrEqual(t, se.RetryAfter, l.block, "%s waits out its block", typ)
		}
	}
}
