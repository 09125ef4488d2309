package huawei_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"expiry-sync/internal/catalog"
	"expiry-sync/internal/config"
	"expiry-sync/internal/huawei"
	"expiry-sync/internal/inventory"
)

// FuzzClientResponses feeds the client arbitrary API answers (status, body,
// Content-Type, Retry-After) and checks what reaches the worker:
//
//   - no call panics, neither in our code nor in the SDK's goroutine inside
//     call (a panic there kills the process, which the fuzzer reports as a
//     crash with its input; context.Background keeps every call waiting for
//     that goroutine, so a panic is always attributed to the input that
//     caused it);
//   - every failure is an *huawei.APIError whose Kind matches the status, and
//     comes with an empty result;
//   - a ListPage result never holds half a resource: every resource has an
//     id and a non-zero UTC expire time, and no id appears twice;
//   - a ResourceTags result has a valid Status for the status answered (a
//     403 is an error: TMS authorizes per account);
//   - a BulkTags listing ends within a few exchanges even when every answer
//     is the same, and hands on only resources with an id and a tag map;
//   - each ListPage and ResourceTags call makes exactly one HTTP exchange
//     (the SDK must not retry).
//
// Run: go test -run XXX -fuzz FuzzClientResponses -fuzztime 60s ./internal/huawei/
func FuzzClientResponses(f *testing.F) {
	for _, s := range fuzzResponseSeeds() {
		f.Add(fuzzStatusIndex(s.status), s.contentType, s.retryAfter, []byte(s.body))
	}

	// One server for the whole run: fuzz inputs run one at a time in each
	// process, so the answer of the current input is a plain shared value.
	var current atomic.Pointer[fuzzAnswer]
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		a := current.Load()
		w.Header().Set("X-Request-Id", "0123456789abcdef0123456789abcdef")
		if a.contentType != "" {
			w.Header().Set("Content-Type", a.contentType)
		}
		if a.retryAfter != "" {
			w.Header().Set("Retry-After", a.retryAfter)
		}
		w.WriteHeader(a.status)
		_, _ = w.Write(a.body)
	}))
	// Every exchange on a fresh connection, so that the throw-away clients
	// below leave no idle connection behind.
	srv.Config.SetKeepAlivesEnabled(false)
	f.Cleanup(srv.Close)

	f.Fuzz(func(t *testing.T, statusSel uint8, ctSel uint8, retryAfter string, body []byte) {
		a := &fuzzAnswer{
			status:      fuzzStatuses[int(statusSel)%len(fuzzStatuses)],
			contentType: fuzzContentTypes[int(ctSel)%len(fuzzContentTypes)],
			body:        body,
		}
		// Retry-After must be a valid header value to reach the client.
		if validHeaderValue(retryAfter) {
			a.retryAfter = retryAfter
		}
		current.Store(a)

		// A fresh client per call: a 429 pauses the client's limiter (for
		// Retry-After, possibly long), which must not slow the next call.
		fuzzListPage(t, fuzzClient(t, srv.URL), a)
		fuzzResourceTags(t, fuzzClient(t, srv.URL), a)
		fuzzBulkTags(t, fuzzClient(t, srv.URL), a)
	})
}

func fuzzListPage(t *testing.T, c *huawei.Client, a *fuzzAnswer) {
	now := time.Now()
	page, err := c.ListPage(context.Background(), huawei.ListQuery{
		ExpireBegin: now.Add(-24 * time.Hour), ExpireEnd: now.Add(24 * time.Hour), Limit: huawei.MaxPageSize,
	})
	checkOneExchange(t, "ListPage", c, a.status)
	if err != nil {
		checkAPIError(t, err, "BSS ListPayPerUseCustomerResources", a)
		if page.Resources != nil || page.TotalCount != 0 || page.Received != 0 {
			t.Fatalf("ListPage: an error came with a partial page: %+v", page)
		}
		return
	}
	if a.status != http.StatusOK {
		t.Fatalf("ListPage: status %d was taken for a page: %+v", a.status, page)
	}
	if page.Received < len(page.Resources) {
		t.Fatalf("ListPage: Received %d < %d resources", page.Received, len(page.Resources))
	}
	seen := make(map[string]bool, len(page.Resources))
	for i, r := range page.Resources {
		checkWholeResource(t, i, r)
		if seen[r.ResourceID] {
			t.Fatalf("ListPage: resource %d: id %q appears twice in one page", i, r.ResourceID)
		}
		seen[r.ResourceID] = true
	}
}

func fuzzResourceTags(t *testing.T, c *huawei.Client, a *fuzzAnswer) {
	target := inventory.TagTarget{ResourceID: "vm-0001", ProjectID: "project-1", ResourceTypeCode: catalog.ResourceVM}
	res, err := c.ResourceTags(context.Background(), target)
	checkOneExchange(t, "ResourceTags", c, a.status)
	if err != nil {
		ae := checkAPIError(t, err, "TMS ShowResourceTag", a)
		if ae.Kind == huawei.KindNotFound {
			t.Fatalf("ResourceTags: a 404 must be a TagsNotFound result, not an error: %v", err)
		}
		return
	}
	if res.ResourceID != target.ResourceID {
		t.Fatalf("ResourceTags: result for %q, asked for %q", res.ResourceID, target.ResourceID)
	}
	want := map[int]inventory.TagStatus{
		http.StatusOK:       inventory.TagsOK,
		http.StatusNotFound: inventory.TagsNotFound,
	}[a.status]
	if want == "" || res.Status != want {
		t.Fatalf("ResourceTags: status %d gave a result with Status %q (want an error or %q): %+v", a.status, res.Status, want, res)
	}
	if res.Status != inventory.TagsOK && res.Tags != nil {
		t.Fatalf("ResourceTags: Status %q with tags: %+v", res.Status, res)
	}
}

// fuzzBulkTags: the same answer to every call must still end the listing.
func fuzzBulkTags(t *testing.T, c *huawei.Client, a *fuzzAnswer) {
	pages := 0
	res, err := c.BulkTags(context.Background(), "project-1", "ecs", huawei.BulkCursor{}, func(page []huawei.TaggedResource, next huawei.BulkCursor) error {
		pages++
		for i, r := range page {
			if r.ResourceID == "" {
				t.Fatalf("BulkTags: resource %d has no id: %+v", i, r)
			}
			if r.Tags == nil {
				t.Fatalf("BulkTags: resource %d (%s) has a nil tag map", i, r.ResourceID)
			}
		}
		if next.Phase == "" {
			t.Fatalf("BulkTags: a cursor without a phase: %+v", next)
		}
		return nil
	})
	if n := c.Stats().Requests.Load(); n > 6 || int64(res.Calls) != n {
		t.Fatalf("BulkTags: %d exchanges for %d counted calls (at most 6 for a constant answer)", n, res.Calls)
	}
	if err != nil {
		var ae *huawei.APIError
		if !errors.As(err, &ae) || (ae.API != "TMS ListResource" && ae.API != "TMS ListTags") {
			t.Fatalf("BulkTags: want a TMS *huawei.APIError, got %T: %v", err, err)
		}
		return
	}
	if a.status != http.StatusOK && res.Unavailable == "" && pages > 0 {
		t.Fatalf("BulkTags: status %d was taken for pages: %+v", a.status, res)
	}
}

type fuzzAnswer struct {
	status      int
	contentType string
	retryAfter  string
	body        []byte
}

// fuzzStatuses are the statuses the APIs answer with; the fuzzer picks one
// by index so that every input maps to a real case.
var fuzzStatuses = []int{200, 400, 401, 403, 404, 429, 500}

// fuzzContentTypes: the SDK decodes by Content-Type (JSON, XML or BSON), and
// a proxy in between may answer with anything.
var fuzzContentTypes = []string{"application/json;charset=UTF-8", "", "text/html", "application/xml", "application/bson"}

func fuzzStatusIndex(status int) uint8 {
	for i, s := range fuzzStatuses {
		if s == status {
			return uint8(i)
		}
	}
	panic(fmt.Sprintf("status %d is not in fuzzStatuses", status))
}

const fuzzSecretKey = "fuzz-secret-key-must-never-leak-0001"

func fuzzClient(t *testing.T, url string) *huawei.Client {
	t.Helper()
	c, err := huawei.New(config.Huawei{
		AccessKey: "FUZZACCESSKEY0000001", SecretKey: fuzzSecretKey, DomainID: "0123456789abcdef0123456789abcdef",
		BSSEndpoint: url, TMSEndpoint: url, HTTPTimeout: 2 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// checkOneExchange: one call, one HTTP exchange, counted by its outcome.
func checkOneExchange(t *testing.T, call string, c *huawei.Client, status int) {
	t.Helper()
	st := c.Stats()
	throttled, failed := int64(0), int64(0)
	switch {
	case status == http.StatusTooManyRequests:
		throttled = 1
	case status >= 400:
		failed = 1
	}
	if st.Requests.Load() != 1 || st.Throttled.Load() != throttled || st.Failed.Load() != failed {
		t.Fatalf("%s: status %d: %d requests, %d throttled, %d failed; want 1, %d, %d",
			call, status, st.Requests.Load(), st.Throttled.Load(), st.Failed.Load(), throttled, failed)
	}
}

// fuzzThrottleCodes are Huawei's throttling codes, whatever the status.
var fuzzThrottleCodes = map[string]bool{"APIGW.0308": true, "CBC.0250": true, "CBC.99007197": true, "TMS.0006": true}

// checkAPIError asserts err is an *huawei.APIError of the given API whose
// Kind is the one the status (and Huawei's throttling codes) call for.
func checkAPIError(t *testing.T, err error, api string, a *fuzzAnswer) *huawei.APIError {
	t.Helper()
	var ae *huawei.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("%s: want *huawei.APIError, got %T: %v", api, err, err)
	}
	if ae.API != api {
		t.Fatalf("%s: error names API %q: %v", api, ae.API, err)
	}
	want := huawei.KindBadResponse // a 200 we could not use
	switch {
	case a.status >= 400 && (a.status == http.StatusTooManyRequests || fuzzThrottleCodes[strings.Replace(ae.Code, "APIG.", "APIGW.", 1)]):
		want = huawei.KindThrottled
	case a.status == http.StatusInternalServerError:
		want = huawei.KindServer
	case a.status == http.StatusUnauthorized:
		want = huawei.KindAuth
	case a.status == http.StatusForbidden:
		want = huawei.KindForbidden
	case a.status == http.StatusNotFound && (ae.Code == "APIGW.0101" || ae.Code == "APIG.0101"):
		want = huawei.KindNoAPI
	case a.status == http.StatusNotFound:
		want = huawei.KindNotFound
	case a.status == http.StatusBadRequest:
		want = huawei.KindBadRequest
	}
	if ae.Kind != want {
		t.Fatalf("%s: status %d: Kind %q, want %q: %v", api, a.status, ae.Kind, want, err)
	}
	if a.status >= 400 && ae.Status != a.status {
		t.Fatalf("%s: status %d: APIError.Status is %d: %v", api, a.status, ae.Status, err)
	}
	if ae.RetryAfter < 0 {
		t.Fatalf("%s: negative RetryAfter %s from Retry-After %q", api, ae.RetryAfter, a.retryAfter)
	}
	// Delta-seconds are taken as they are up to huawei.MaxRetryAfter, and a
	// longer wait is capped, saying so.
	if n, perr := strconv.ParseInt(a.retryAfter, 10, 64); perr == nil && n >= 0 && a.status >= 400 {
		want := time.Duration(math.MaxInt64)
		if n <= math.MaxInt64/int64(time.Second) {
			want = time.Duration(n) * time.Second
		}
		if want > huawei.MaxRetryAfter {
			want = huawei.MaxRetryAfter
			if !strings.Contains(ae.Error(), "Retry-After asked for") {
				t.Fatalf("%s: a capped Retry-After %q is not said: %v", api, a.retryAfter, ae)
			}
		}
		if ae.RetryAfter != want {
			t.Fatalf("%s: Retry-After %q gave RetryAfter %s, want %s", api, a.retryAfter, ae.RetryAfter, want)
		}
	}
	msg := ae.Error()
	if !strings.HasPrefix(msg, api+": ") {
		t.Fatalf("%s: error text does not start with the API name: %q", api, msg)
	}
	if strings.Contains(msg, fuzzSecretKey) {
		t.Fatalf("%s: error text contains the secret key: %q", api, msg)
	}
	return ae
}

// checkWholeResource: what the worker stores must be a whole record.
func checkWholeResource(t *testing.T, i int, r inventory.Resource) {
	t.Helper()
	if r.ResourceID == "" {
		t.Fatalf("ListPage: resource %d has no id: %+v", i, r)
	}
	if r.ExpireTime.IsZero() {
		t.Fatalf("ListPage: resource %d (%s) has a zero expire time", i, r.ResourceID)
	}
	if r.ExpireTime.Location() != time.UTC {
		t.Fatalf("ListPage: resource %d (%s): expire time %s is not in UTC", i, r.ResourceID, r.ExpireTime)
	}
	if !r.EffectiveTime.IsZero() && r.EffectiveTime.Location() != time.UTC {
		t.Fatalf("ListPage: resource %d (%s): effective time %s is not in UTC", i, r.ResourceID, r.EffectiveTime)
	}
}

// validHeaderValue reports whether net/http would send v as a header value.
func validHeaderValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; (c < 0x20 && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}

type fuzzResponseSeed struct {
	status      int
	contentType uint8
	retryAfter  string
	body        string
}

// fuzzResponseSeeds are the shapes worth starting from: valid answers of the
// three APIs (field names from the SDK's bss/v2 and tms/v1 models), their
// error bodies, and the ways an answer goes wrong.
func fuzzResponseSeeds() []fuzzResponseSeed {
	const record = `{"id":"CS2001011200ABCDE","resource_id":"3a4b5c6d-7e8f-4a0b-9c1d-2e3f4a5b6c7d","resource_name":"ecs-web-01",` +
		`"region_code":"cn-north-4","service_type_code":"hws.service.type.ec2","resource_type_code":"hws.resource.type.vm",` +
		`"resource_type_name":"Elastic Cloud Server","service_type_name":"ECS","resource_spec_code":"s6.large.2.linux",` +
		`"project_id":"0a1b2c3d4e5f60718293a4b5c6d7e8f9","product_id":"OFFI0000001","parent_resource_id":"",` +
		`"is_main_resource":1,"status":2,"effective_time":"2025-01-15T08:00:00Z","expire_time":"2026-02-15T15:59:59Z",` +
		`"expire_policy":0,"product_spec_desc":"2 vCPUs | 4 GiB","spec_size":40.5,"spec_size_measure_id":17,` +
		`"update_time":"2025-01-15T08:00:05Z","enterprise_project":{"id":"0","name":"default"}}`
	page := func(records ...string) string {
		return `{"data":[` + strings.Join(records, ",") + `],"total_count":` + fmt.Sprint(len(records)) + `}`
	}
	child := strings.NewReplacer(`"3a4b5c6d-7e8f-4a0b-9c1d-2e3f4a5b6c7d"`, `"9f8e7d6c-5b4a-4392-8a1b-0c9d8e7f6a5b"`,
		`"parent_resource_id":""`, `"parent_resource_id":"3a4b5c6d-7e8f-4a0b-9c1d-2e3f4a5b6c7d"`, `"is_main_resource":1`, `"is_main_resource":0`).Replace(record)
	noID := strings.Replace(record, `"resource_id":"3a4b5c6d-7e8f-4a0b-9c1d-2e3f4a5b6c7d",`, "", 1)
	emptyID := strings.Replace(record, `"resource_id":"3a4b5c6d-7e8f-4a0b-9c1d-2e3f4a5b6c7d"`, `"resource_id":""`, 1)
	withExpire := func(v string) string {
		return strings.Replace(record, `"expire_time":"2026-02-15T15:59:59Z"`, `"expire_time":`+v, 1)
	}
	valid := page(record, child)

	// A huge page, generated here rather than stored: 5,000 minimal records.
	var huge bytes.Buffer
	huge.WriteString(`{"total_count":5000,"data":[`)
	for i := range 5000 {
		if i > 0 {
			huge.WriteByte(',')
		}
		fmt.Fprintf(&huge, `{"resource_id":"00000000-0000-4000-8000-%012d","expire_time":"2026-03-01T00:00:00Z","status":2}`, i)
	}
	huge.WriteString(`]}`)

	const tmsShow = `{"tags":[{"key":"env","value":"prod"},{"key":"负责人","value":"张三"},{"key":"empty","value":""},{"key":"novalue"}]}`
	const tmsList = `{"resources":[{"project_id":"project-1","project_name":"cn-north-4","resource_id":"vm-0001","resource_name":"web",` +
		`"resource_type":"ecs","resource_detail":{"any":["thing",1]},"tags":[{"key":"env","value":"prod"}]},` +
		`{"project_id":"project-1","project_name":"cn-north-4","resource_id":"vm-0002","resource_name":"db","resource_type":"ecs","tags":[]}],` +
		`"errors":[],"total_count":2}`
	const tmsUnsupported = `{"resources":[],"errors":[{"error_code":"TMS.5027","error_msg":"Invalid resource type.","project_id":"project-1","resource_type":"ecs"}],"total_count":0}`

	json, none := uint8(0), uint8(1)
	return []fuzzResponseSeed{
		// Valid answers.
		{200, json, "", valid},
		{200, json, "", `{"data":[],"total_count":0}`},
		{200, json, "", page(record, record)}, // a duplicate id
		{200, json, "", huge.String()},
		{200, json, "", tmsShow},
		{200, json, "", `{"tags":[]}`},
		{200, json, "", tmsList},
		{200, json, "", tmsUnsupported},
		// Broken answers with status 200.
		{200, json, "", valid[:len(valid)/2]}, // truncated JSON
		{200, json, "", `{"data": "not-an-array"}`},
		{200, json, "", `{"total_count": "x"}`},
		{200, json, "", `{"total_count": 99999999999}`},
		{200, json, "", `{"total_count": -1, "data": null}`},
		{200, json, "", `{"data":[null],"total_count":1}`},
		{200, json, "", page(noID)},
		{200, json, "", page(emptyID)},
		{200, json, "", page(withExpire(`"garbage"`))},
		{200, json, "", page(withExpire(`""`))},
		{200, json, "", page(withExpire(`null`))},
		{200, json, "", page(withExpire(`1767225599`))},
		{200, json, "", page(withExpire(`"2026-02-15 15:59:59"`))},
		{200, json, "", page(withExpire(`"2026-02-15T23:59:59+08:00"`))},
		{200, json, "", page(withExpire(`"0001-01-01T00:00:00Z"`))}, // the zero time is no expire time
		{200, json, "", strings.Replace(valid, `"spec_size":40.5`, `"spec_size":1e999999`, 1)},
		{200, json, "", strings.Replace(valid, `"status":2`, `"status":"2"`, 1)},
		{200, json, "", `{"tags":[{"value":"no key"}]}`},
		{200, json, "", `{"tags":{"env":"prod"}}`},
		{200, json, "", `{"resources":[{"resource_id":"","tags":[]}],"total_count":1}`},
		{200, json, "", `{"resources":[{"resource_id":"vm-1","tags":null}],"errors":[{}],"total_count":1}`},
		{200, json, "", ""},
		{200, none, "", ""},
		{200, json, "", "null"},
		{200, json, "", "[]"},
		{200, json, "", `"a string"`},
		{200, json, "", "{}"},
		{200, json, "", `{"data":[]} trailing`},
		{200, json, "", strings.Repeat("[", 20000)},
		{200, json, "", strings.Repeat(`{"a":`, 5000) + "1" + strings.Repeat("}", 5000)},
		{200, 2, "", "<html><body>502 Bad Gateway</body></html>"},
		{200, 3, "", "<data><resource_id>x</resource_id></data>"},
		{200, 4, "", "\x05\x00\x00\x00\x00"},
		// Error answers: flat (gateway, BSS) and nested (TMS).
		{400, json, "", `{"error_code":"CBC.0100","error_msg":"Invalid parameter: limit"}`},
		{401, json, "", `{"error_code":"APIGW.0301","error_msg":"Incorrect IAM authentication information","request_id":"abc"}`},
		{401, json, "", `{"error_code":"APIGW.0303","error_msg":"signature expired"}`},
		{403, json, "", `{"error_code":"CBC.0151","error_msg":"Access denied."}`},
		{403, json, "", `{"error":{"error_code":"TMS.0004","error_msg":"You do not have permissions."}}`},
		{404, json, "", `{"error":{"error_code":"TMS.0005","error_msg":"The resources requested cannot be found."}}`},
		{404, json, "", `{"error_code":"APIGW.0101","error_msg":"The API does not exist"}`},
		{429, json, "1", `{"error_code":"APIGW.0308","error_msg":"The throttling threshold has been reached"}`},
		{429, json, "Wed, 21 Oct 2037 07:28:00 GMT", `{"error_code":"APIGW.0308","error_msg":"throttled"}`},
		{429, json, "-5", ""},
		{429, json, "99999999999", `{"error_code":"APIGW.0308","error_msg":"throttled"}`},
		{429, json, "9999999999", `{"error_code":"APIGW.0308","error_msg":"throttled"}`},
		{500, json, "", `{"error":{"error_code":"TMS.0001","error_msg":"System error."}}`},
		{500, json, "", `{"error_code":"CBC.0250","error_msg":"flow control"}`}, // throttled whatever the status
		{403, json, "", `{"error":{"error_code":"APIGW.0308","error_msg":"throttled as 403"}}`},
		{500, json, "", `{"error":{"error":{"error":{"error_code":"X.1","error_msg":"deep"}}},"details":[{"error_code":"D","error_msg":"d"},1,null]}`},
		{400, json, "", `{"error_code":1,"error_msg":["not","a","string"]}`},
		{500, json, "", "null"},
		{500, none, "", ""},
		{404, 2, "", "<html>not found</html>"},
		{401, 4, "", "\x10\x00\x00\x00garbage"},
	}
}
