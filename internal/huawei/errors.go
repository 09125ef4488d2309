package huawei

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/request"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/response"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/sdkerr"
)

// Kind classifies a failed API call by what the caller should do about it.
// The names double as Temporal ApplicationError types.
type Kind string

const (
	KindThrottled   Kind = "HuaweiThrottled"   // 429: retry after a pause
	KindServer      Kind = "HuaweiServerError" // 5xx: retry
	KindTransport   Kind = "HuaweiTransport"   // no HTTP answer (timeout, refused): retry
	KindBadResponse Kind = "HuaweiBadResponse" // an answer we cannot use: retry, it may be transient
	KindBadRequest  Kind = "HuaweiBadRequest"  // 400: our request is wrong, retrying cannot help
	KindAuth        Kind = "HuaweiAuthFailed"  // 401: AK/SK or clock, retrying cannot help
	KindForbidden   Kind = "HuaweiForbidden"   // 403: wrong site or no permission
	KindNotFound    Kind = "HuaweiNotFound"    // 404: the resource is gone
)

// Retryable reports whether retrying the same call may succeed.
func (k Kind) Retryable() bool {
	switch k {
	case KindThrottled, KindServer, KindTransport, KindBadResponse:
		return true
	}
	return false
}

// NonRetryableKinds are the kinds an activity retry policy must not retry.
var NonRetryableKinds = []string{string(KindBadRequest), string(KindAuth), string(KindForbidden), string(KindNotFound)}

// APIError is a classified failure of one Huawei API call. Its text names the
// API, the HTTP status, Huawei's error code and request id, and a hint; it
// never contains a credential.
type APIError struct {
	API        string
	Kind       Kind
	Status     int
	Code       string
	Message    string
	RequestID  string
	RetryAfter time.Duration
}

func (e *APIError) Error() string {
	s := e.API + ": "
	if e.Status != 0 {
		s += strconv.Itoa(e.Status) + " "
	}
	if e.Code != "" {
		s += e.Code + " "
	}
	s += e.Message
	if e.RequestID != "" {
		s += " (request id " + e.RequestID + ")"
	}
	if h := hint(e.Code, e.Status); h != "" {
		s += ": " + h
	}
	return s
}

func hint(code string, status int) string {
	switch code {
	case "APIGW.0301":
		return "check HUAWEI_ACCESS_KEY, HUAWEI_SECRET_KEY and HUAWEI_DOMAIN_ID"
	case "APIGW.0303":
		return "the signature expired: check this machine's clock"
	case "CBC.0150":
		return "wrong site: international accounts use https://bss-intl.myhuaweicloud.com as HUAWEI_BSS_ENDPOINT"
	case "CBC.0151", "CBC.0155":
		return "the account lacks the BSS permission to list its subscriptions"
	}
	if status == http.StatusBadRequest {
		return "the request was refused as invalid; this is a bug or a bad sync option"
	}
	return ""
}

// classify turns an SDK error into an *APIError.
func classify(api string, err error) *APIError {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae
	}
	var re *responseError
	if errors.As(err, &re) {
		return fromResponse(api, re)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return &APIError{API: api, Kind: KindTransport, Message: transportMessage(ue)}
	}
	// The SDK reports an undecodable body as a plain error.
	return &APIError{API: api, Kind: KindBadResponse, Message: err.Error()}
}

func transportMessage(ue *url.Error) string {
	if ue.Timeout() {
		return "no answer within the HTTP timeout (HUAWEI_HTTP_TIMEOUT) from " + redactURL(ue.URL)
	}
	return fmt.Sprintf("%s %s: %v", ue.Op, redactURL(ue.URL), ue.Err)
}

// redactURL keeps scheme, host and path: query strings may carry ids but never keys.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "the endpoint"
	}
	return u.Scheme + "://" + u.Host + u.Path
}

func fromResponse(api string, re *responseError) *APIError {
	e := &APIError{
		API: api, Status: re.StatusCode, Code: re.ErrorCode,
		Message: re.ErrorMessage, RequestID: re.RequestId, RetryAfter: re.retryAfter,
	}
	switch {
	case re.StatusCode == http.StatusTooManyRequests || re.ErrorCode == "APIGW.0308" || re.ErrorCode == "CBC.0250":
		e.Kind = KindThrottled
	case re.StatusCode >= 500:
		e.Kind = KindServer
	case re.StatusCode == http.StatusUnauthorized:
		e.Kind = KindAuth
	case re.StatusCode == http.StatusForbidden:
		e.Kind = KindForbidden
	case re.StatusCode == http.StatusNotFound:
		e.Kind = KindNotFound
	case re.StatusCode >= 400:
		e.Kind = KindBadRequest
	default:
		e.Kind = KindBadResponse
	}
	return e
}

// responseError is the SDK's error for an HTTP status >= 400, plus the
// Retry-After header that the SDK's own error drops.
type responseError struct {
	*sdkerr.ServiceResponseError
	retryAfter time.Duration
}

func (e *responseError) Unwrap() error { return e.ServiceResponseError }

// errorHandler replaces the SDK's default one to keep Retry-After.
type errorHandler struct{}

func (errorHandler) HandleError(_ *request.DefaultHttpRequest, resp *response.DefaultHttpResponse) error {
	if resp.GetStatusCode() < 400 {
		return nil
	}
	return &responseError{
		ServiceResponseError: sdkerr.NewServiceResponseError(resp.Response),
		retryAfter:           parseRetryAfter(resp.Response.Header.Get("Retry-After"), time.Now()),
	}
}

// parseRetryAfter reads delta-seconds or an HTTP date; 0 when absent or bad.
// Like time.Sub, a delay too long for a Duration saturates instead of
// wrapping around to a negative or arbitrary one.
func parseRetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseInt(v, 10, 64); err == nil && s >= 0 {
		if s > math.MaxInt64/int64(time.Second) {
			return time.Duration(math.MaxInt64)
		}
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}
