package hwsim

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"math/rand/v2"
	"net/http"
	"path"
	"strconv"
	"sync"
	"time"
)

// Error codes the simulator answers with.
//
// API gateway (flat body with request_id, on both services):
//
//	APIGW.0101 404 unknown API path or method
//	APIGW.0201 400 unreadable or too large request body
//	APIGW.0301 401 missing/malformed Authorization, unknown AK, bad signature, missing X-Domain-Id,
//	               missing/invalid X-Sdk-Date or more than 15 minutes of clock skew: every AK/SK
//	               ("IAM authentication") failure; APIGW.0303 is App (AppKey) authentication, which
//	               the simulator does not serve (https://support.huaweicloud.com/apig_faq/apig-faq-0009.html)
//	APIGW.0308 429 throttled (rate limit or ThrottleRatio), with Retry-After: 1
//
// BSS (flat body {"error_code","error_msg"}):
//
//	CBC.0100 400 invalid parameter (the message names the field); LookupRefused CBC.0100
//	CBC.0150 403 WrongSite (the account belongs to the other site); CBC.0156 likewise
//	CBC.0151 403 X-Domain-Id is not the simulated account; LookupRefused CBC.0151
//	CBC.0999 500 injected server error (ErrorRatio), or ListFailFromOffset with ListFailCode CBC.0999
//	CBC.99007197 400 BSSIPThrottleRatio (flow control by source IP)
//
// TMS (nested body {"error":{"error_code","error_msg"}}):
//
//	TMS.0001 500 injected server error (ErrorRatio)
//	TMS.0002 400 bad request (malformed body, missing resource_type, conflicting fields)
//	TMS.0004 403 TMSPermissionDenied, TMSDeniedTypes (the message names the type, enterprise project and
//	         permission), TMSProvidersRefused (ListProviders), ForbiddenResourceIDs, or X-Domain-Id is
//	         not the simulated account
//	TMS.0005 404 unknown or removed resource, or a project it does not belong to
//	TMS.0006 403 TMSThrottle403Ratio ("The request is too much, try again later")
//	TMS.0007 400 limit out of 1..BulkMaxLimit (default 1000)
//	TMS.0012 400 ListResource with an empty tag filter when BulkEmptyFilter is "refused"
//	TMS.0009 400 empty or duplicate tag key in a filter
//	TMS.0016 400 more than 10 values for one key in a filter
//	TMS.0017 400 negative offset
//	TMS.2011 400 missing project_id
//	TMS.5027 400 resource_type unknown to TMS or not the resource's type
//	         (also the code of ListResource's per-type errors[] entries)
const (
	codeNoAPI       = "APIGW.0101"
	codeBadBody     = "APIGW.0201"
	codeAuth        = "APIGW.0301"
	codeThrottled   = "APIGW.0308"
	codeBSSParam    = "CBC.0100"
	codeBSSIPLimit  = "CBC.99007197"
	codeBSSDenied   = "CBC.0151"
	codeBSSSystem   = "CBC.0999"
	codeTMSSystem   = "TMS.0001"
	codeTMSBad      = "TMS.0002"
	codeTMSDenied   = "TMS.0004"
	codeTMSNotFound = "TMS.0005"
	codeTMSTooMuch  = "TMS.0006"
	codeTMSNoTags   = "TMS.0012"
	codeTMSLimit    = "TMS.0007"
	codeTMSKey      = "TMS.0009"
	codeTMSValues   = "TMS.0016"
	codeTMSOffset   = "TMS.0017"
	codeTMSProject  = "TMS.2011"
	codeTMSType     = "TMS.5027"
)

const (
	headerRequestID = "X-Request-Id"
	maxBodyBytes    = 1 << 20
)

// apiError is an error answer. Gateway errors have the same flat shape on
// both services; service errors are flat on BSS and nested on TMS.
type apiError struct {
	status   int
	code     string
	msg      string
	gateway  bool
	throttle bool // counted as throttled whatever the status
}

func gwError(status int, code, msg string) *apiError {
	return &apiError{status: status, code: code, msg: msg, gateway: true}
}

func svcError(status int, code, msg string) *apiError {
	return &apiError{status: status, code: code, msg: msg}
}

// serverError and forbiddenDomain depend on the service answering.
func serverError(svc service) *apiError {
	if svc == serviceBSS {
		return svcError(http.StatusInternalServerError, codeBSSSystem, "System error.")
	}
	return svcError(http.StatusInternalServerError, codeTMSSystem, "System error.")
}

func forbiddenDomain(svc service) *apiError {
	if svc == serviceBSS {
		return svcError(http.StatusForbidden, codeBSSDenied, "Access denied. The X-Domain-Id does not match the account of the credentials.")
	}
	return svcError(http.StatusForbidden, codeTMSDenied, "You do not have permissions to perform the operation.")
}

type flatError struct {
	ErrorCode string `json:"error_code"`
	ErrorMsg  string `json:"error_msg"`
	RequestID string `json:"request_id,omitempty"`
}

type nestedError struct {
	Error flatError `json:"error"`
}

// exchange is one API request on its way through the gateway.
type exchange struct {
	w     http.ResponseWriter
	r     *http.Request
	api   apiID
	reqID string
	c     *counters
	cfg   *runtimeConfig
	body  []byte
	// throttled: the answer is a throttling one (for the counters).
	throttled bool
}

type apiHandler func(ex *exchange) (any, *apiError)

// noContent is a payload answered 204 without a body, the documented
// success answer of several renewal APIs (e.g. CancelCustomerOrder,
// https://support.huaweicloud.com/api-oce/api_order_00017.html: "HTTP/1.1
// 204 No Content").
type noContent struct{}

// connectionDropped is a payload whose handler hijacked the connection
// to close it instead of answering (OrderAnswerLostMode "close"). The
// gateway counts the lost answer before it closes the connection, so a
// client that sees the connection drop finds it counted.
type connectionDropped struct{ conn io.Closer }

func (ex *exchange) writeNoContent() {
	ex.w.WriteHeader(http.StatusNoContent)
	if ex.c != nil {
		ex.c.countStatus(http.StatusNoContent)
	}
}

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func (ex *exchange) writeJSON(status int, v any) {
	buf := bufPool.Get().(*bytes.Buffer)
	defer func() {
		if buf.Cap() <= 4<<20 { // do not pin huge buffers
			buf.Reset()
			bufPool.Put(buf)
		}
	}()
	buf.Reset()
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false) // like the real APIs: "<" stays "<"
	if err := enc.Encode(v); err != nil {
		status = http.StatusInternalServerError
		buf.Reset()
		buf.WriteString(`{"error_code":"APIGW.0102","error_msg":"encoding failed"}`)
	}
	h := ex.w.Header()
	h.Set("Content-Type", "application/json;charset=UTF-8")
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	ex.w.WriteHeader(status)
	_, _ = ex.w.Write(buf.Bytes())
	switch {
	case ex.c == nil:
	case ex.throttled:
		ex.c.throttled.Add(1)
	default:
		ex.c.countStatus(status)
	}
}

func (ex *exchange) fail(e *apiError) {
	ex.throttled = e.throttle
	switch {
	case e.gateway:
		ex.writeJSON(e.status, flatError{ErrorCode: e.code, ErrorMsg: e.msg, RequestID: ex.reqID})
	case ex.api.service() == serviceBSS:
		ex.writeJSON(e.status, flatError{ErrorCode: e.code, ErrorMsg: e.msg})
	default:
		ex.writeJSON(e.status, nestedError{Error: flatError{ErrorCode: e.code, ErrorMsg: e.msg}})
	}
}

// routes builds the handler: every response gets an X-Request-Id first.
func (s *Simulator) routes() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("POST /v2/orders/suscriptions/resources/query", s.gateway(apiBSSList, s.handleBSSList))
	mux.Handle("GET /v2.0/resources/{resource_id}/tags", s.gateway(apiTMSShow, s.handleTMSShow))
	mux.Handle("POST /v1.0/resource-instances/filter", s.gateway(apiTMSFilter, s.handleTMSFilter))
	mux.Handle("GET /v1.0/tags", s.gateway(apiTMSTags, s.handleTMSTags))
	mux.Handle("GET /v1.0/tms/providers", s.gateway(apiTMSProviders, s.handleTMSProviders))
	s.renewRoutes(mux)
	s.adminRoutes(mux)
	noAPI := func(w http.ResponseWriter, r *http.Request) {
		ex := &exchange{w: w, r: r, reqID: w.Header().Get(headerRequestID)}
		ex.fail(gwError(http.StatusNotFound, codeNoAPI, "The API does not exist or has not been published in the environment"))
	}
	mux.HandleFunc("/", noAPI)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set(headerRequestID, s.nextRequestID())
		if !isCleanPath(r.URL.Path) {
			// ServeMux would answer a redirect to the clean path (or a
			// bare 400 for "*"); the gateway knows no such API.
			noAPI(w, r)
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// isCleanPath reports whether ServeMux serves p as it is: absolute, with no
// empty, "." or ".." segment (a trailing slash is kept).
func isCleanPath(p string) bool {
	if p == "" || p[0] != '/' {
		return false
	}
	np := path.Clean(p)
	if p[len(p)-1] == '/' && np != "/" {
		np += "/"
	}
	return np == p
}

// gateway runs the API gateway steps in the order a real request meets
// them: latency, authentication, rate limit, injected faults, handler.
func (s *Simulator) gateway(api apiID, h apiHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := &s.stats[api]
		c.requests.Add(1)
		ex := &exchange{w: w, r: r, api: api, reqID: w.Header().Get(headerRequestID), c: c, cfg: s.cfg.Load()}
		k := &ex.cfg.knobs
		if !sleep(r.Context(), k.Latency+randDuration(k.Jitter)) {
			c.canceled.Add(1)
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
		if err != nil {
			ex.fail(gwError(http.StatusBadRequest, codeBadBody, "The request body is unreadable or larger than 1 MiB"))
			return
		}
		ex.body = body
		if e := s.authenticate(r, body, time.Now(), api.service()); e != nil {
			ex.fail(e)
			return
		}
		if e := ex.injectFaults(); e != nil {
			ex.fail(e)
			return
		}
		if ex.cfg.knobs.SlowRatio > 0 && chance(ex.cfg.knobs.SlowRatio) {
			c.slow.Add(1)
			if !sleep(r.Context(), ex.cfg.knobs.SlowDelay) {
				c.canceled.Add(1)
				return
			}
		}
		payload, e := h(ex)
		dropped, isDropped := payload.(connectionDropped)
		switch {
		case e != nil:
			ex.fail(e)
		case payload == noContent{}:
			ex.writeNoContent()
		case isDropped:
			c.serverErrors.Add(1) // the client sees no answer
			_ = dropped.conn.Close()
		default:
			ex.writeJSON(http.StatusOK, payload)
		}
	})
}

// injectFaults applies the site check, the rate limit, then random
// throttling and errors. Only authenticated requests get here, so bad
// credentials never consume rate-limit tokens.
func (ex *exchange) injectFaults() *apiError {
	k := &ex.cfg.knobs
	svc := ex.api.service()
	if svc == serviceBSS && k.WrongSite != "" {
		return svcError(http.StatusForbidden, k.WrongSite, "Access denied. The customer does not belong to the website you are now at.")
	}
	if lim := ex.cfg.limiter(ex.api); lim != nil && !lim.Allow() {
		ex.w.Header().Set("Retry-After", "1")
		return throttled(gwError(http.StatusTooManyRequests, codeThrottled,
			"The throttling threshold has been reached: policy user over ratelimit,limit:"+strconv.Itoa(max(1, int(float64(lim.Limit()))))+",time:1 second"))
	}
	if chance(k.ThrottleRatio) {
		ex.w.Header().Set("Retry-After", "1")
		return throttled(gwError(http.StatusTooManyRequests, codeThrottled, "The throttling threshold has been reached: policy domain over ratelimit"))
	}
	if svc == serviceBSS && chance(k.BSSIPThrottleRatio) {
		return throttled(svcError(http.StatusBadRequest, codeBSSIPLimit, "Too many requests from this IP address. Try again later."))
	}
	if svc == serviceTMS && chance(k.TMSThrottle403Ratio) {
		return throttled(svcError(http.StatusForbidden, codeTMSTooMuch, "The request is too much, try again later."))
	}
	if chance(k.ErrorRatio) {
		return serverError(svc)
	}
	return nil
}

func throttled(e *apiError) *apiError {
	e.throttle = true
	return e
}

// chance is true with probability p (never for 0, always for 1).
func chance(p float64) bool { return p > 0 && rand.Float64() < p }

func randDuration(maxD time.Duration) time.Duration {
	if maxD <= 0 {
		return 0
	}
	return rand.N(maxD)
}

// sleep waits d unless ctx ends first; it reports whether d elapsed.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func newRequestIDPrefix() string {
	var b [8]byte
	_, _ = crand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// nextRequestID returns 32 hex characters like Huawei's request ids: a
// random per-simulator prefix and a counter, unique and cheap.
func (s *Simulator) nextRequestID() string {
	var b [8]byte
	n := s.reqSeq.Add(1)
	for i := range b {
		b[7-i] = byte(n >> (8 * i))
	}
	return s.reqPrefix + hex.EncodeToString(b[:])
}
