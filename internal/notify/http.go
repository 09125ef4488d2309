package notify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"expiry-sync/internal/clip"
)

// httpClient is shared by the chat channels; each request carries its own
// timeout.
var httpClient = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}

// response is what a platform answered.
type response struct {
	status int
	header http.Header
	body   []byte
}

// post sends body to target. A request that fails before it was written
// (refused connection, DNS, TLS) was not delivered: ClassUnavailable. One
// that fails after (reset, timeout waiting for the answer) may have been:
// ClassUncertain. Errors name the channel and host only: the path and query
// of a robot's URL are its credentials.
func (ch *Channel) post(ctx context.Context, target *url.URL, body []byte, header http.Header) (response, error) {
	ctx, cancel := context.WithTimeout(ctx, ch.Timeout)
	defer cancel()
	var wrote atomic.Bool
	ctx = httptrace.WithClientTrace(
		ctx,
		&httptrace.ClientTrace{WroteRequest: func(httptrace.WroteRequestInfo) { wrote.Store(true) }},
	)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target.String(), bytes.NewReader(body))
	if err != nil {
		return response{}, configError(ch, errors.New("url is not usable"))
	}
	req.Header = header
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	resp, err := httpClient.Do(req)
	if err != nil {
		return response{}, ch.transportError(target, err, wrote.Load())
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return response{}, ch.transportError(target, err, true)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: b}, nil
}

func (ch *Channel) transportError(target *url.URL, err error, wrote bool) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err // url.Error would print the whole URL, token included
	}
	where := fmt.Sprintf("channel %s (%s %s://%s)", ch.Name, ch.Type, target.Scheme, target.Host)
	if wrote {
		return &SendError{Class: ClassUncertain,
			Msg: where + ": no answer after the request was sent, it may have arrived: " + err.Error()}
	}
	return &SendError{Class: ClassUnavailable, Msg: where + ": not reachable: " + err.Error()}
}

// statusError classifies a non-2xx HTTP answer: 429 and 5xx are retried,
// other 4xx are not (a wrong URL, token or payload does not heal).
func (ch *Channel) statusError(r response, detail string) error {
	msg := fmt.Sprintf("channel %s (%s): HTTP %d", ch.Name, ch.Type, r.status)
	if detail != "" {
		msg += ": " + detail
	}
	switch {
	case r.status == http.StatusTooManyRequests:
		return &SendError{Class: ClassRateLimited, Msg: msg, RetryAfter: ch.retryAfter(r.header)}
	case r.status >= 500 || r.status == http.StatusRequestTimeout:
		return &SendError{Class: ClassUnavailable, Msg: msg}
	}
	return &SendError{Class: ClassRejected, Msg: msg}
}

// rateLimited is a platform's "too many messages" answered inside a 200.
func (ch *Channel) rateLimited(code int, text string) error {
	return &SendError{
		Class:      ClassRateLimited,
		Msg:        fmt.Sprintf("channel %s (%s): rate limited: %d %s", ch.Name, ch.Type, code, short(text)),
		RetryAfter: ch.RateLimitWait,
	}
}

// rejected is a platform's refusal answered inside a 200.
func (ch *Channel) rejected(code int, text string) error {
	return &SendError{
		Class: ClassRejected,
		Msg:   fmt.Sprintf("channel %s (%s): refused: %d %s", ch.Name, ch.Type, code, short(text)),
	}
}

// retryAfter reads Retry-After in seconds (Slack sends it with a 429),
// else the channel's rate_limit_wait.
func (ch *Channel) retryAfter(h http.Header) time.Duration {
	if s, err := strconv.Atoi(h.Get("Retry-After")); err == nil && s >= 0 && s <= 3600 {
		return time.Duration(s) * time.Second
	}
	return ch.RateLimitWait
}

// short keeps a platform's error text to one short line.
func short(s string) string {
	return clip.Text(strings.Join(strings.Fields(s), " "), 200)
}

// resolveURL reads the channel's URL and checks it.
func (ch *Channel) resolveURL() (*url.URL, error) {
	raw, err := ch.URL.Resolve()
	if err != nil {
		return nil, configError(ch, fmt.Errorf("url %w", err))
	}
	u, err := parseHTTPURL(raw)
	if err != nil {
		return nil, configError(ch, err)
	}
	return u, nil
}

// resolveSigned resolves a signed channel's URL and its secret.
func (ch *Channel) resolveSigned() (*url.URL, string, error) {
	u, err := ch.resolveURL()
	if err != nil {
		return nil, "", err
	}
	s, err := ch.Secret.Resolve()
	if err != nil {
		return nil, "", configError(ch, fmt.Errorf("secret %w", err))
	}
	return u, s, nil
}
