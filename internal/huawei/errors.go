package huawei

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/request"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/response"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/sdkerr"

	"expiry-sync/internal/clip"
	"expiry-sync/internal/contract"
)

// Kind classifies a failed API call by what the caller should do about it.
// The names double as Temporal ApplicationError types.
type Kind string

const (
	KindThrottled   Kind = contract.ErrTypeHuaweiThrottled   // 429, 403 TMS.0006, 400 CBC.99007197: retry after a pause
	KindServer      Kind = contract.ErrTypeHuaweiServer      // 5xx: retry
	KindTransport   Kind = contract.ErrTypeHuaweiTransport   // no HTTP answer (timeout, refused): retry
	KindBadResponse Kind = contract.ErrTypeHuaweiBadResponse // an answer we cannot use: retry, it may be transient
	KindBadRequest  Kind = contract.ErrTypeHuaweiBadRequest  // 400: our request is wrong, retrying cannot help
	KindAuth        Kind = contract.ErrTypeHuaweiAuth        // 401: AK/SK or clock, retrying cannot help
	KindForbidden   Kind = contract.ErrTypeHuaweiForbidden   // 403: wrong site or no permission (IAMAction names it)
	KindNotFound    Kind = contract.ErrTypeHuaweiNotFound    // 404: the resource is gone
	KindNoAPI       Kind = contract.ErrTypeHuaweiNoAPI       // 404 APIGW.0101: the endpoint does not serve this API
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
var NonRetryableKinds = contract.HuaweiNonRetryable

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
	// IAMAction is the permission the account lacks, set on a KindForbidden
	// that is a permission denial (not a wrong site, not an IP block): the
	// one Huawei's message names, else the API's under identity policies
	// (permissions.go), e.g. "tms:resourceTags:list".
	IAMAction string
	// Scope is what a refused tag read covers (TagScope): its TMS type, or
	// the type in one enterprise project when the answer says so; AllTags
	// for a refusal of every type. A tag read also needs the owning
	// service's permission, so one type's refusal says nothing of the
	// others. Set by ResourceTags.
	Scope string
}

func (e *APIError) Error() string {
	s := e.Problem()
	if h := e.hint(); h != "" {
		s += ": " + h
	}
	return s
}

// Problem is the error's text without its hint: the API, the HTTP status,
// Huawei's code and message, and the request id.
func (e *APIError) Problem() string {
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
	return s
}

// Hint is what to do about the error ("" when nothing specific).
func (e *APIError) Hint() string { return e.hint() }

func (e *APIError) hint() string {
	switch gatewayCode(e.Code) {
	case codeIPBlocked:
		return "the API gateway refused this machine's IP address " +
			"(a blacklist or whitelist, i.e. an access-control list, not a missing IAM permission): " +
			"check the account's allowed IP ranges (IAM security settings, or the ACL of the API) " +
			"against this worker's egress address"
	case "APIGW.0301":
		return "the AK/SK signature was refused: check HUAWEI_ACCESS_KEY, HUAWEI_SECRET_KEY and HUAWEI_DOMAIN_ID, " +
			"and this machine's clock (more than 15 minutes off also fails the signature)"
	case "APIGW.0303":
		return "this endpoint expects App (AppKey) authentication, not AK/SK: " +
			"check that HUAWEI_BSS_ENDPOINT / HUAWEI_TMS_ENDPOINT point at Huawei's own API endpoints"
	case "APIGW.0101":
		return "this endpoint does not serve the API: " +
			"check HUAWEI_SITE, or the HUAWEI_BSS_ENDPOINT / HUAWEI_TMS_ENDPOINT that overrides it"
	case codeWrongSite, codeWrongSiteOther:
		return "wrong site: the account does not belong to the site of this endpoint; " +
			"set HUAWEI_SITE to the account's site (cn, intl or eu), or fix HUAWEI_BSS_ENDPOINT"
	}
	if e.IAMAction != "" || (e.Kind == KindForbidden && e.API == apiListProviders) {
		return e.permissionHint()
	}
	switch e.Kind {
	case KindThrottled:
		if e.Code == CodeIPThrottled {
			return "BSS throttles this machine's IP address, which every account behind it shares: " +
				"all of them pause, then retry; lower HUAWEI_BSS_IP_RATE if it recurs"
		}
		return "throttled by Huawei: retried after a pause"
	case KindTransport:
		return "check that this machine reaches the endpoint " +
			"(HUAWEI_SITE or HUAWEI_BSS_ENDPOINT / HUAWEI_TMS_ENDPOINT, proxy, firewall, DNS)"
	}
	if e.Status == http.StatusBadRequest {
		return "the request was refused as invalid; this is a bug or a bad sync option"
	}
	return ""
}

// Codes with a meaning of their own. Sources: the TMS error-code page
// (https://support.huaweicloud.com/intl/en-us/my-kualalumpur-1-api-tms/en-us_topic_0057939857.html:
// 403 TMS.0006 "The request is too much, try again later"), the Terraform
// provider's cross-site list (huaweicloud/terraform-provider-huaweicloud,
// huaweicloud/config/config.go: CBC.0150 and CBC.0156 are 403 "customer does
// not belong to the website"), the team reference for CBC.0250 and
// CBC.99007197 (BSS flow control; both in the BSS error-code tables), the
// API gateway's error-code table for APIGW.0302 (403: the caller's IP is
// blacklisted or not whitelisted, an ACL block; the team reference
// huawei-api.md, from https://support.huaweicloud.com/intl/en-us/usermanual-apig/apig_03_0048.html).
const (
	codeWrongSite      = "CBC.0150"
	codeWrongSiteOther = "CBC.0156"
	codeIPBlocked      = "APIGW.0302"
	// CodeIPThrottled is BSS's "your IP is throttled" (400): the flow
	// control per source IP, shared by every account behind the address.
	CodeIPThrottled = "CBC.99007197"
)

var throttleCodes = map[string]bool{
	"APIGW.0308":    true, // API gateway flow control (429)
	"CBC.0250":      true, // BSS flow control
	CodeIPThrottled: true, // BSS flow control by source IP (400)
	"TMS.0006":      true, // TMS's own throttling (403)
}

// gatewayCode folds the dedicated gateway's "APIG." prefix (as in Huawei's
// FAQ answers) into the shared gateway's "APIGW.".
func gatewayCode(code string) string {
	if rest, ok := strings.CutPrefix(code, "APIG."); ok {
		return "APIGW." + rest
	}
	return code
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
	return &APIError{API: api, Kind: KindBadResponse, Message: clip.Text(err.Error(), clip.Max)}
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

// MaxRetryAfter caps the wait a Retry-After imposes: a longer one (a day,
// say) would freeze every call of the worker. The attempt then fails as
// throttled, saying so, and is retried after MaxRetryAfter.
var MaxRetryAfter = time.Minute

func fromResponse(api string, re *responseError) *APIError {
	e := &APIError{
		API: api, Status: re.StatusCode, Code: re.ErrorCode,
		// The SDK's message is the raw body when it is not Huawei's JSON
		// (a proxy's page, say): bounded before it reaches logs and history.
		Message: clip.Text(re.ErrorMessage, clip.Max), RequestID: re.RequestId, RetryAfter: re.retryAfter,
	}
	if e.RetryAfter > MaxRetryAfter {
		e.Message += fmt.Sprintf(
			" (Retry-After asked for %s: waiting %s at most before the next attempt)",
			e.RetryAfter,
			MaxRetryAfter,
		)
		e.RetryAfter = MaxRetryAfter
	}
	code := gatewayCode(re.ErrorCode)
	switch {
	case re.StatusCode == http.StatusTooManyRequests || throttleCodes[code]:
		e.Kind = KindThrottled
	case re.StatusCode >= 500:
		e.Kind = KindServer
	case re.StatusCode == http.StatusUnauthorized:
		e.Kind = KindAuth
	case re.StatusCode == http.StatusForbidden:
		e.Kind = KindForbidden
		if code != codeWrongSite && code != codeWrongSiteOther && code != codeIPBlocked {
			e.IAMAction = cmp.Or(namedAction(re.ErrorMessage), iamActions[api])
		}
	case re.StatusCode == http.StatusNotFound && code == "APIGW.0101":
		e.Kind = KindNoAPI
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
