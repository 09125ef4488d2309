package hwsim_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/auth/signer"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/request"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/sdkerr"
	bssmodel "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/bss/v2/model"
	tmsmodel "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/tms/v1/model"

	"expiry-sync/internal/catalog"
	"expiry-sync/internal/testkit/hwsim"
)

// The fuzz targets below feed the simulator arbitrary requests and check
// that it answers each one like the real gateway would, whatever arrives:
//
//   - it never panics (the handler is called directly, not behind
//     net/http's recover, so a panic fails the input);
//   - every answer has an X-Request-Id of 32 hex digits and a JSON body;
//   - an error answer has a known status, the code documented for that
//     status, the shape of its service (gateway and BSS flat, TMS nested)
//     and is understood by the SDK's own error parser;
//   - a 200 decodes strictly into the SDK's response model and agrees with
//     the request (page size, filters, totals);
//   - a request signed by the SDK's signer is never refused as unsigned:
//     the fuzzer gets past the gateway to the parsers.
//
// Run one at a time, e.g.:
//
//	go test -run XXX -fuzz FuzzSimBSSQuery -fuzztime 60s ./internal/hwsim/

const (
	fzAK     = "FUZZSIMACCESSKEY0001"
	fzSK     = "fuzz-sim-secret-key-0123456789"
	fzDomain = "f0000000000000000000000000000001"
	fzHost   = "hwsim.fuzz.test"
	fzBSS    = "/v2/orders/suscriptions/resources/query"
	fzFilter = "/v1.0/resource-instances/filter"
	fzShow   = "/v2.0/resources/{resource_id}/tags"
	// bssTime is the only time format BSS takes and gives.
	bssTime = "2006-01-02T15:04:05Z"
)

var fzEpoch = time.Date(2026, 1, 15, 8, 0, 0, 0, time.UTC)

// fzEnv is a small simulator with one forbidden resource, and two more
// that throttle or fail every authenticated request (ratio 1 is
// deterministic), for the 429 and 500 answers.
type fzEnv struct {
	sim, throttling, failing *hwsim.Simulator
	all                      []hwsim.Resource
	vm, forbidden            hwsim.Resource // taggable resources
}

func newFzEnv(f *testing.F) *fzEnv {
	f.Helper()
	mk := func(k hwsim.Knobs) *hwsim.Simulator {
		s, err := hwsim.New(hwsim.Options{Seed: 11, Resources: 300, AccessKey: fzAK, SecretKey: fzSK, DomainID: fzDomain, Epoch: fzEpoch, Knobs: k})
		if err != nil {
			f.Fatal(err)
		}
		return s
	}
	e := &fzEnv{sim: mk(hwsim.Knobs{}), throttling: mk(hwsim.Knobs{ThrottleRatio: 1}), failing: mk(hwsim.Knobs{ErrorRatio: 1})}
	e.all = e.sim.Resources()
	var taggable []hwsim.Resource
	for _, r := range e.all {
		if r.TMSResourceType != "" {
			taggable = append(taggable, r)
		}
	}
	if len(taggable) < 2 {
		f.Fatal("the dataset has fewer than two taggable resources")
	}
	e.vm, e.forbidden = taggable[0], taggable[len(taggable)-1]
	if err := e.sim.SetKnobs(hwsim.Knobs{ForbiddenResourceIDs: []string{e.forbidden.ResourceID}}); err != nil {
		f.Fatal(err)
	}
	return e
}

// fzRequest is a request signed by the SDK's signer.
type fzRequest struct {
	method, path string
	pathID       *string             // resource_id path parameter
	query        map[string][]string // signed query parameters
	body         string
	date         string // X-Sdk-Date to sign with; "" = now
	domain       string
}

// build returns the request as it would leave the SDK, with the headers
// the signer added.
func (r fzRequest) build(t *testing.T) (*http.Request, map[string]string) {
	t.Helper()
	b := request.NewHttpRequestBuilder().WithEndpoint("http://"+fzHost).WithMethod(r.method).WithPath(r.path).
		AddHeaderParam("Content-Type", "application/json;charset=UTF-8").
		AddHeaderParam("User-Agent", "hwsim-fuzz").
		AddHeaderParam("X-Domain-Id", r.domain)
	if r.pathID != nil {
		b.AddPathParam("resource_id", *r.pathID)
	}
	for k, v := range r.query {
		b.AddQueryParam(k, reflect.ValueOf(v))
	}
	if r.date != "" {
		b.AddHeaderParam("X-Sdk-Date", r.date)
	}
	if r.body != "" {
		b.WithBody("", r.body)
	}
	req := b.Build()
	signed, err := signer.Sign(req, fzAK, fzSK)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range signed {
		req.AddHeaderParam(k, v)
	}
	hr, err := req.ConvertRequest()
	if err != nil {
		t.Fatal(err)
	}
	return hr, signed
}

// serve sends req through the wire format, as the simulator's server would
// read it, and returns what the server read (nil when the request cannot
// be written or read back: not something a client can send) and the
// answer.
func fzServe(t *testing.T, h http.Handler, req *http.Request) (*http.Request, *httptest.ResponseRecorder) {
	t.Helper()
	var wire bytes.Buffer
	if err := req.Write(&wire); err != nil {
		return nil, nil
	}
	sreq, err := http.ReadRequest(bufio.NewReader(&wire))
	if err != nil {
		return nil, nil
	}
	sreq.RemoteAddr = "192.0.2.1:4321"
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, sreq)
	return sreq, rec
}

// fzCodeStatus is the gateway.go table of error codes and their statuses.
var fzCodeStatus = map[string]int{
	"APIGW.0101": 404, "APIGW.0201": 400, "APIGW.0301": 401, "APIGW.0308": 429,
	"CBC.0100": 400, "CBC.0150": 403, "CBC.0151": 403, "CBC.0156": 403, "CBC.0999": 500, "CBC.99007197": 400,
	"TMS.0001": 500, "TMS.0002": 400, "TMS.0004": 403, "TMS.0005": 404, "TMS.0006": 403, "TMS.0007": 400, "TMS.0009": 400, "TMS.0012": 400,
	"TMS.0016": 400, "TMS.0017": 400, "TMS.2011": 400, "TMS.5027": 400,
}

var fzRequestID = regexp.MustCompile(`^[0-9a-f]{32}$`)

type fzErrorBody struct {
	ErrorCode string       `json:"error_code"`
	ErrorMsg  string       `json:"error_msg"`
	RequestID *string      `json:"request_id"`
	Error     *fzErrorBody `json:"error"`
}

// fzAnswer checks what every answer must be and returns its status, body
// and, for an error, its code. svc is "bss" or "tms"; allowed lists the
// statuses this request may get.
func fzAnswer(t *testing.T, rec *httptest.ResponseRecorder, svc string, allowed ...int) (int, []byte, string) {
	t.Helper()
	status, body := rec.Code, rec.Body.Bytes()
	reqID := rec.Header().Get("X-Request-Id")
	if !fzRequestID.MatchString(reqID) {
		t.Fatalf("status %d: X-Request-Id %q is not 32 hex digits", status, reqID)
	}
	if !slices.Contains(allowed, status) {
		t.Fatalf("status %d, want one of %v; body %s", status, allowed, body)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json;charset=UTF-8" {
		t.Fatalf("status %d: Content-Type %q; body %s", status, ct, body)
	}
	if cl := rec.Header().Get("Content-Length"); cl != strconv.Itoa(len(body)) {
		t.Fatalf("status %d: Content-Length %q for %d bytes", status, cl, len(body))
	}
	if !json.Valid(body) {
		t.Fatalf("status %d: body is not JSON: %q", status, body)
	}
	if status == http.StatusOK {
		return status, body, ""
	}

	var e fzErrorBody
	fzStrict(t, body, &e)
	flat := e.Error == nil
	code, msg := e.ErrorCode, e.ErrorMsg
	if !flat {
		if e.ErrorCode != "" || e.ErrorMsg != "" || e.RequestID != nil || e.Error.Error != nil || e.Error.RequestID != nil {
			t.Fatalf("status %d: nested error body with extra fields: %s", status, body)
		}
		code, msg = e.Error.ErrorCode, e.Error.ErrorMsg
	}
	if want, ok := fzCodeStatus[code]; !ok || want != status {
		t.Fatalf("status %d with code %q (documented status %d): %s", status, code, want, body)
	}
	if msg == "" {
		t.Fatalf("status %d: empty error_msg: %s", status, body)
	}
	switch {
	case strings.HasPrefix(code, "APIGW."):
		if !flat || e.RequestID == nil || *e.RequestID != reqID {
			t.Fatalf("gateway error must be flat with request_id %s: %s", reqID, body)
		}
	case svc == "bss":
		if !flat || e.RequestID != nil || !strings.HasPrefix(code, "CBC.") {
			t.Fatalf("BSS error must be a flat CBC error without request_id: %s", body)
		}
	default:
		if flat || !strings.HasPrefix(code, "TMS.") {
			t.Fatalf("TMS error must be a nested TMS error: %s", body)
		}
	}
	if status == http.StatusTooManyRequests && rec.Header().Get("Retry-After") != "1" {
		t.Fatalf("429 without Retry-After: 1 (got %q)", rec.Header().Get("Retry-After"))
	}
	// The SDK must read the same code, message and request id.
	se := sdkerr.NewServiceResponseError(&http.Response{StatusCode: status, Header: rec.Header().Clone(), Body: io.NopCloser(bytes.NewReader(body))})
	if se.ErrorCode != code || se.ErrorMessage != msg || se.RequestId != reqID || se.StatusCode != status {
		t.Fatalf("the SDK reads %+v from %d %s", se, status, body)
	}
	return status, body, code
}

// fzStrict decodes a JSON answer, refusing fields v does not know.
func fzStrict(t *testing.T, data []byte, v any) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("answer does not decode into %T: %v: %s", v, err, data)
	}
	if dec.More() {
		t.Fatalf("answer has trailing data: %s", data)
	}
}

// fzValidJSONBody: the APIs take a JSON document; the simulator reads an
// empty (or JSON-whitespace only) body as {}.
func fzValidJSONBody(body string) bool {
	return strings.Trim(body, " \t\r\n") == "" || json.Valid([]byte(body))
}

func FuzzSimBSSQuery(f *testing.F) {
	env := newFzEnv(f)
	main, child := env.all[0], env.all[1]
	for _, s := range []string{
		``,
		`{}`,
		`null`,
		`{"limit":500,"offset":0}`,
		`{"limit":10,"offset":295}`,
		`{"limit":3,"offset":2147483647}`,
		`{"limit":501}`,
		`{"limit":0}`,
		`{"limit":-1}`,
		`{"limit":99999999999}`,
		`{"limit":1.5}`,
		`{"limit":"10"}`,
		`{"offset":-1}`,
		`{"offset":-2147483648,"limit":1}`,
		`{"status_list":[2,3,4,5]}`,
		`{"status_list":[1]}`,
		`{"status_list":"2"}`,
		`{"status_list":[2,null]}`,
		`{"only_main_resource":1,"limit":500}`,
		`{"only_main_resource":2}`,
		`{"only_main_resource":true}`,
		`{"expire_time_begin":"2026-01-01T00:00:00Z","expire_time_end":"2026-03-01T00:00:00Z","limit":500}`,
		`{"expire_time_begin":"2026-01-15T08:00:00.5Z","expire_time_end":"2026-01-15T08:00:00.5Z","limit":500}`,
		`{"expire_time_begin":"2026-01-01","expire_time_end":""}`,
		`{"expire_time_begin":"2026-01-01T00:00:00+08:00"}`,
		`{"expire_time_end":"0001-01-01T00:00:00Z"}`,
		`{"expire_time_begin":"9999-12-31T23:59:59Z"}`,
		`{"expire_time_begin":20260101}`,
		`{"service_type_code":"hws.service.type.ec2","limit":500}`,
		`{"service_type_code":""}`,
		`{"resource_ids":["` + main.ResourceID + `","` + child.ResourceID + `","no-such-id"],"limit":500}`,
		`{"resource_ids":["` + main.ResourceID + `"],"only_main_resource":1}`,
		`{"resource_ids":[` + strings.Repeat(`"x",`, 50) + `"y"]}`,
		`{"resource_ids":"` + main.ResourceID + `"}`,
		`{"order_id":"CS123","customer_id":"c1","unknown_field":[1,2,3]}`,
		`{"limit":10} {"limit":20}`,
		`{"limit":10}]`,
		`{"limit":10`,
		`[]`,
		`"string"`,
		"\xff\xfe{}",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		req, _ := fzRequest{method: http.MethodPost, path: fzBSS, body: body, domain: fzDomain}.build(t)
		sreq, rec := fzServe(t, env.sim.Handler(), req)
		if sreq == nil {
			return
		}
		status, answer, _ := fzAnswer(t, rec, "bss", http.StatusOK, http.StatusBadRequest)
		if status != http.StatusOK {
			return
		}
		if !fzValidJSONBody(body) {
			t.Fatalf("200 for a body that is not JSON: %q", body)
		}
		var resp bssmodel.ListPayPerUseCustomerResourcesResponse
		fzStrict(t, answer, &resp)
		if resp.Data == nil || resp.TotalCount == nil {
			t.Fatalf("200 without data or total_count: %s", answer)
		}
		fzCheckBSSPage(t, env, body, *resp.Data, int(*resp.TotalCount))
	})
}

// fzCheckBSSPage checks a BSS page against the query that asked for it.
func fzCheckBSSPage(t *testing.T, env *fzEnv, body string, data []bssmodel.OrderInstanceV2, total int) {
	t.Helper()
	var q bssmodel.QueryResourcesReq
	if strings.Trim(body, " \t\r\n") != "" {
		if err := json.Unmarshal([]byte(body), &q); err != nil {
			t.Fatalf("200 for a query the SDK model cannot hold (%v): %q", err, body)
		}
	}
	offset, limit := 0, 10
	if q.Offset != nil {
		offset = int(*q.Offset)
	}
	if q.Limit != nil {
		limit = int(*q.Limit)
	}
	if offset < 0 || limit < 1 || limit > 500 {
		t.Fatalf("200 for offset %d, limit %d", offset, limit)
	}
	if want := min(max(total-offset, 0), limit); len(data) != want {
		t.Fatalf("offset %d, limit %d, total_count %d: %d records, want %d", offset, limit, total, len(data), want)
	}
	if total > len(env.all) {
		t.Fatalf("total_count %d > %d resources", total, len(env.all))
	}
	bound := func(v *string) (time.Time, bool) {
		if v == nil || *v == "" {
			return time.Time{}, false
		}
		b, err := time.Parse(bssTime, *v)
		if err != nil {
			t.Fatalf("200 for an unreadable time %q", *v)
		}
		return b, true
	}
	begin, hasBegin := bound(q.ExpireTimeBegin)
	end, hasEnd := bound(q.ExpireTimeEnd)
	var ids []string
	if q.ResourceIds != nil {
		ids = *q.ResourceIds
	}
	seen := map[string]bool{}
	for i, o := range data {
		id := fzDeref(o.ResourceId)
		if id == "" || seen[id] {
			t.Fatalf("record %d: empty or repeated resource_id %q", i, id)
		}
		seen[id] = true
		expire, err := time.Parse(bssTime, fzDeref(o.ExpireTime))
		if err != nil || expire.Format(bssTime) != fzDeref(o.ExpireTime) {
			t.Fatalf("record %d (%s): expire_time %q is not in %s", i, id, fzDeref(o.ExpireTime), bssTime)
		}
		if hasBegin && expire.Before(begin) || hasEnd && expire.After(end) {
			t.Fatalf("record %d (%s): expire_time %s outside [%q, %q]", i, id, expire, fzDeref(q.ExpireTimeBegin), fzDeref(q.ExpireTimeEnd))
		}
		if q.StatusList != nil && len(*q.StatusList) > 0 && !slices.Contains(*q.StatusList, fzDeref(o.Status)) {
			t.Fatalf("record %d (%s): status %d not in %v", i, id, fzDeref(o.Status), *q.StatusList)
		}
		if q.ServiceTypeCode != nil && *q.ServiceTypeCode != fzDeref(o.ServiceTypeCode) {
			t.Fatalf("record %d (%s): service %q, asked for %q", i, id, fzDeref(o.ServiceTypeCode), *q.ServiceTypeCode)
		}
		switch {
		case len(ids) > 0:
			if !slices.Contains(ids, id) && !slices.Contains(ids, fzDeref(o.ParentResourceId)) {
				t.Fatalf("record %d (%s): neither it nor its parent was asked for: %v", i, id, ids)
			}
		case fzDeref(q.OnlyMainResource) == 1 && fzDeref(o.IsMainResource) != 1:
			t.Fatalf("record %d (%s): a child, with only_main_resource", i, id)
		}
	}
}

func FuzzSimTMSListResource(f *testing.F) {
	env := newFzEnv(f)
	p := env.vm.ProjectID
	var key, value string
	for k, v := range env.vm.Tags {
		key, value = k, v
		break
	}
	kj, vj := fzJSON(key), fzJSON(value)
	for _, s := range []string{
		`{"project_id":"` + p + `","resource_types":["ecs"],"tags":[]}`,
		`{"project_id":"` + p + `","resource_types":["ecs","disk","eip"],"tags":[],"limit":200,"offset":0}`,
		`{"project_id":"` + p + `","resource_types":["ecs","disk"],"tags":[],"limit":5,"offset":3}`,
		`{"project_id":"` + p + `","resource_types":["ecs"],"tags":[{"key":` + kj + `,"values":[` + vj + `]}]}`,
		`{"project_id":"` + p + `","resource_types":["ecs"],"tags":[{"key":` + kj + `,"values":[]}]}`,
		`{"project_id":"` + p + `","resource_types":["ecs","disk","eip"],"without_any_tag":true}`,
		`{"project_id":"` + p + `","resource_types":["ecs"],"without_any_tag":true,"tags":[{"key":"env"}]}`,
		`{"project_id":"` + p + `","resource_types":["ecs"],"tags":[{"key":"no-such-key","values":["x"]}]}`,
		`{"project_id":"` + p + `","resource_types":["ecs"],"tags":[{"key":""}]}`,
		`{"project_id":"` + p + `","resource_types":["ecs"],"tags":[{"key":"a"},{"key":"a"}]}`,
		`{"project_id":"` + p + `","resource_types":["ecs"],"tags":[{"key":"a","values":["1","2","3","4","5","6","7","8","9","10","11"]}]}`,
		`{"project_id":"` + p + `","resource_types":["ecs"],"tags":[` + strings.Repeat(`{"key":"k"},`, 10) + `{"key":"l"}]}`,
		`{"project_id":"` + p + `","resource_types":["vpc","ecs","vpc"]}`,
		`{"project_id":"` + p + `","resource_types":[]}`,
		`{"project_id":"` + p + `","resource_types":"ecs"}`,
		`{"project_id":"` + p + `","resource_types":["ecs"],"limit":0}`,
		`{"project_id":"` + p + `","resource_types":["ecs"],"limit":1001}`,
		`{"project_id":"` + p + `","resource_types":["ecs"],"offset":-1}`,
		`{"project_id":"` + p + `","resource_types":["ecs"],"offset":2147483647}`,
		`{"project_id":"` + p + `","resource_types":["ecs"],"limit":"1"}`,
		`{"project_id":"no-such-project","resource_types":["ecs"]}`,
		`{"project_id":"","resource_types":["ecs"]}`,
		`{"project_id":7,"resource_types":["ecs"]}`,
		`{"resource_types":["ecs"]}`,
		`{"project_id":"` + p + `","resource_types":["ecs"],"without_any_tag":"yes"}`,
		`{"project_id":"` + p + `","resource_types":["ecs"]}}`,
		`{"project_id":"` + p + `","resource_types":["ecs"]`,
		``,
		`null`,
		`[]`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		req, _ := fzRequest{method: http.MethodPost, path: fzFilter, body: body, domain: fzDomain}.build(t)
		sreq, rec := fzServe(t, env.sim.Handler(), req)
		if sreq == nil {
			return
		}
		status, answer, _ := fzAnswer(t, rec, "tms", http.StatusOK, http.StatusBadRequest)
		if status != http.StatusOK {
			return
		}
		if !fzValidJSONBody(body) {
			t.Fatalf("200 for a body that is not JSON: %q", body)
		}
		var resp tmsmodel.ListResourceResponse
		fzStrict(t, answer, &resp)
		if resp.Resources == nil || resp.Errors == nil || resp.TotalCount == nil {
			t.Fatalf("200 without resources, errors or total_count: %s", answer)
		}
		var q tmsmodel.ResqTagResource
		if err := json.Unmarshal([]byte(body), &q); err != nil {
			t.Fatalf("200 for a query the SDK model cannot hold (%v): %q", err, body)
		}
		fzCheckTMSPage(t, env, q, resp)
	})
}

// fzCheckTMSPage checks a ListResource page against the query.
func fzCheckTMSPage(t *testing.T, env *fzEnv, q tmsmodel.ResqTagResource, resp tmsmodel.ListResourceResponse) {
	t.Helper()
	offset, limit := int(fzDeref(q.Offset)), 200
	if q.Limit != nil {
		limit = int(*q.Limit)
	}
	if fzDeref(q.ProjectId) == "" || len(q.ResourceTypes) == 0 || offset < 0 || limit < 1 || limit > hwsim.MaxBulkLimit {
		t.Fatalf("200 for an invalid query %+v", q)
	}
	total, res := int(*resp.TotalCount), *resp.Resources
	if want := min(max(total-offset, 0), limit); len(res) != want {
		t.Fatalf("offset %d, limit %d, total_count %d: %d resources, want %d", offset, limit, total, len(res), want)
	}
	known := catalog.TMSResourceTypes()
	for _, e := range *resp.Errors {
		rt := fzDeref(e.ResourceType)
		if !slices.Contains(q.ResourceTypes, rt) || slices.Contains(known, rt) || fzDeref(e.ErrorCode) != "TMS.5027" {
			t.Fatalf("errors[] entry %+v for types %q", e, q.ResourceTypes)
		}
	}
	seen := map[string]bool{}
	for i, r := range res {
		if r.ResourceId == "" || seen[r.ResourceId] {
			t.Fatalf("resource %d: empty or repeated resource_id %q", i, r.ResourceId)
		}
		seen[r.ResourceId] = true
		if r.ProjectId != *q.ProjectId || !slices.Contains(q.ResourceTypes, r.ResourceType) {
			t.Fatalf("resource %d (%s): project %q type %q, asked for %q %q", i, r.ResourceId, r.ProjectId, r.ResourceType, *q.ProjectId, q.ResourceTypes)
		}
		got := map[string]string{}
		if r.Tags != nil {
			for _, tag := range *r.Tags {
				got[tag.Key] = tag.Value
			}
		}
		if fzDeref(q.WithoutAnyTag) && len(got) > 0 {
			t.Fatalf("resource %d (%s): tags %v with without_any_tag", i, r.ResourceId, got)
		}
		for _, want := range q.Tags {
			v, ok := got[want.Key]
			if !ok || len(want.Values) > 0 && !slices.Contains(want.Values, v) {
				t.Fatalf("resource %d (%s): tags %v do not match filter %+v", i, r.ResourceId, got, want)
			}
		}
		if sim, ok := env.sim.Lookup(r.ResourceId); !ok || !maps.Equal(sim.Tags, got) {
			t.Fatalf("resource %d (%s): tags %v, the simulator has %v", i, r.ResourceId, got, sim.Tags)
		}
	}
}

func FuzzSimTMSShowResourceTag(f *testing.F) {
	env := newFzEnv(f)
	vm, fb := env.vm, env.forbidden
	q := func(typ, project string) string {
		return url.Values{"resource_type": {typ}, "project_id": {project}}.Encode()
	}
	for _, s := range [][2]string{
		{vm.ResourceID, q(vm.TMSResourceType, vm.ProjectID)},
		{fb.ResourceID, q(fb.TMSResourceType, fb.ProjectID)},
		{vm.ResourceID, q("vpc", vm.ProjectID)},
		{vm.ResourceID, q("eip", vm.ProjectID)},
		{vm.ResourceID, q(vm.TMSResourceType, "other-project")},
		{vm.ResourceID, q(vm.TMSResourceType, "")},
		{vm.ResourceID, "resource_type=" + vm.TMSResourceType},
		{vm.ResourceID, "project_id=" + vm.ProjectID},
		{vm.ResourceID, ""},
		{vm.ResourceID, q(vm.TMSResourceType, vm.ProjectID) + "&resource_type=disk"},
		{vm.ResourceID, "resource_type=%65cs&project_id=" + vm.ProjectID},
		{vm.ResourceID, "resource_type=ecs&project_id=%zz"},
		{vm.ResourceID, "resource_type=ecs;project_id=" + vm.ProjectID},
		{vm.ResourceID, "=&&=x&resource_type"},
		{strings.ToUpper(vm.ResourceID), q(vm.TMSResourceType, vm.ProjectID)},
		{"00000000-0000-4000-8000-000000000000", q("ecs", vm.ProjectID)},
		{"no-such-id", q("ecs", vm.ProjectID)},
		{"", q("ecs", vm.ProjectID)},
		{"..", q("ecs", vm.ProjectID)},
		{"a/b", q("ecs", vm.ProjectID)},
		{"%2F%00", q("ecs", vm.ProjectID)},
		{"id with spaces?and#hash", q("ecs", vm.ProjectID)},
		{"\xff\xfe", q("ecs", vm.ProjectID)},
		{"资源", q("ecs", vm.ProjectID)},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, id, rawQuery string) {
		query, qerr := url.ParseQuery(rawQuery)
		req, _ := fzRequest{method: http.MethodGet, path: fzShow, pathID: &id, query: query, domain: fzDomain}.build(t)
		// Send the raw query as the fuzzer wrote it; the SDK signed its
		// parsed form, which is what the gateway checks.
		req.URL.RawQuery = rawQuery
		sreq, rec := fzServe(t, env.sim.Handler(), req)
		if sreq == nil {
			return
		}
		wantPath := strings.ReplaceAll(fzShow, "{resource_id}", id)
		routed := sreq.URL.Path == wantPath && id != "" && !strings.Contains(id, "/") && id != "." && id != ".."
		switch {
		case !routed:
			// Not this API's path (a "/" in the id, or a path ServeMux
			// would clean): the gateway's 404.
			if _, _, code := fzAnswer(t, rec, "tms", http.StatusNotFound); code != "APIGW.0101" {
				t.Fatalf("path %q: code %s", sreq.URL.Path, code)
			}
			return
		case sreq.URL.RawQuery != rawQuery:
			fzAnswer(t, rec, "tms", http.StatusOK, http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound)
			return
		case qerr != nil:
			// An unreadable query cannot match any signature.
			if _, _, code := fzAnswer(t, rec, "tms", http.StatusUnauthorized); code != "APIGW.0301" {
				t.Fatalf("unreadable query %q: code %s", rawQuery, code)
			}
			return
		}
		status, answer, code := fzAnswer(t, rec, "tms", http.StatusOK, http.StatusBadRequest, http.StatusForbidden, http.StatusNotFound)
		res, exists := env.sim.Lookup(id)
		typ, project := query.Get("resource_type"), query.Get("project_id")
		matches := exists && res.ProjectID == project && res.TMSResourceType == typ
		switch {
		case id == fb.ResourceID:
			if status != http.StatusForbidden || code != "TMS.0004" {
				t.Fatalf("forbidden id: %d %s", status, code)
			}
		case status == http.StatusOK:
			if !matches {
				t.Fatalf("200 for id %q type %q project %q; the simulator has %+v (exists %v)", id, typ, project, res, exists)
			}
			var resp tmsmodel.ShowResourceTagResponse
			fzStrict(t, answer, &resp)
			if resp.Tags == nil {
				t.Fatalf("200 without tags: %s", answer)
			}
			got := map[string]string{}
			for _, tag := range *resp.Tags {
				if _, dup := got[tag.Key]; dup || tag.Value == nil {
					t.Fatalf("tag %q repeated or without value: %s", tag.Key, answer)
				}
				got[tag.Key] = *tag.Value
			}
			if !maps.Equal(res.Tags, got) {
				t.Fatalf("tags %v, the simulator has %v", got, res.Tags)
			}
		case matches:
			t.Fatalf("%d %s for a resource that exists as asked", status, code)
		}
	})
}

// FuzzSimGatewayAuth fuzzes the Authorization, X-Sdk-Date and X-Domain-Id
// headers of a BSS request. flags: 1 signs with date (if it parses), 2 sends
// domain instead of the account's, 4 replaces the signed Authorization with
// auth, 8 replaces the signed X-Sdk-Date with date, 16 and 32 send to the
// throttling and the failing simulator.
func FuzzSimGatewayAuth(f *testing.F) {
	env := newFzEnv(f)
	now := time.Now().UTC()
	for _, s := range []struct {
		flags              uint8
		auth, date, domain string
	}{
		{0, "", "", ""},
		{1, "", now.Add(-time.Minute).Format("20060102T150405Z"), ""},
		{1, "", now.Add(-20 * time.Minute).Format("20060102T150405Z"), ""},
		{1, "", now.Add(20 * time.Minute).Format("20060102T150405Z"), ""},
		{1, "", "20000101T000000Z", ""},
		{2, "", "", "ffffffffffffffffffffffffffffffff"},
		{2, "", "", ""},
		{2, "", "", " " + fzDomain + " "},
		{4, "", "", ""},
		{4, "SDK-HMAC-SHA256", "", ""},
		{4, "SDK-HMAC-SHA256 Access=" + fzAK + ", SignedHeaders=x-sdk-date, Signature=00", "", ""},
		{4, "SDK-HMAC-SHA256 Access=" + fzAK + ", SignedHeaders=host;x-domain-id, Signature=zz", "", ""},
		{4, "SDK-HMAC-SHA256 Access=WRONG, SignedHeaders=x-sdk-date, Signature=00", "", ""},
		{4, "SDK-HMAC-SHA256 Access=, SignedHeaders=, Signature=", "", ""},
		{4, "Basic dXNlcjpwYXNz", "", ""},
		{4, "SDK-HMAC-SHA256 Access=" + fzAK + ",,,=,Signature==", "", ""},
		{8, "", "garbage", ""},
		{8, "", "", ""},
		{8, "", now.Format("20060102T150405Z"), ""},
		{8, "", now.Format(time.RFC3339), ""},
		{8, "", "99999999T999999Z", ""},
		{16, "", "", ""},
		{32, "", "", ""},
		{16 | 2, "", "", "ffffffffffffffffffffffffffffffff"},
		{32 | 4, "garbage", "", ""},
	} {
		f.Add(s.flags, s.auth, s.date, s.domain)
	}
	f.Fuzz(func(t *testing.T, flags uint8, auth, date, domain string) {
		r := fzRequest{method: http.MethodPost, path: fzBSS, body: `{"limit":1}`, domain: fzDomain}
		if flags&1 != 0 {
			r.date = date
		}
		if flags&2 != 0 {
			r.domain = domain
		}
		req, signed := r.build(t)
		if flags&4 != 0 {
			req.Header.Set("Authorization", auth)
		}
		if flags&8 != 0 {
			req.Header.Set("X-Sdk-Date", date)
		}
		h := env.sim.Handler()
		switch {
		case flags&16 != 0:
			h = env.throttling.Handler()
		case flags&32 != 0:
			h = env.failing.Handler()
		}
		started := time.Now()
		sreq, rec := fzServe(t, h, req)
		if sreq == nil {
			return
		}
		status, _, code := fzAnswer(t, rec, "bss", http.StatusOK, http.StatusUnauthorized, http.StatusForbidden, http.StatusTooManyRequests, http.StatusInternalServerError)
		if strings.TrimSpace(r.domain) != sreq.Header.Get("X-Domain-Id") {
			return // net/http rewrote the value: not what was signed
		}

		// What the gateway must answer, check by check in its order.
		want, wantCode := http.StatusOK, ""
		gotAuth, gotDate, gotDomain := sreq.Header.Get("Authorization"), sreq.Header.Get("X-Sdk-Date"), sreq.Header.Get("X-Domain-Id")
		signedDate, dateErr := time.Parse("20060102T150405Z", gotDate)
		skew := started.Sub(signedDate).Abs() // Sub saturates, Abs too
		switch {
		case gotAuth != signed["Authorization"]:
			// Forged: refused, by the date check if it happens to parse.
			if status != http.StatusUnauthorized || code != "APIGW.0301" {
				t.Fatalf("forged Authorization %q: %d %s", gotAuth, status, code)
			}
			return
		case dateErr != nil:
			want, wantCode = http.StatusUnauthorized, "APIGW.0301"
		case (skew - 15*time.Minute).Abs() < 5*time.Second:
			return // at the edge of the allowed skew: either answer is right
		case skew > 15*time.Minute:
			want, wantCode = http.StatusUnauthorized, "APIGW.0301"
		case gotDate != signed["X-Sdk-Date"]:
			want, wantCode = http.StatusUnauthorized, "APIGW.0301"
		case gotDomain == "":
			want, wantCode = http.StatusUnauthorized, "APIGW.0301"
		case gotDomain != fzDomain:
			want, wantCode = http.StatusForbidden, "CBC.0151"
		case flags&16 != 0:
			want, wantCode = http.StatusTooManyRequests, "APIGW.0308"
		case flags&32 != 0:
			want, wantCode = http.StatusInternalServerError, "CBC.0999"
		}
		if status != want || code != wantCode {
			t.Fatalf("flags %d, Authorization %q, X-Sdk-Date %q, X-Domain-Id %q: %d %s, want %d %s",
				flags, gotAuth, gotDate, gotDomain, status, code, want, wantCode)
		}
	})
}

func fzDeref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

func fzJSON(s string) string {
	b, err := json.Marshal(s)
	if err != nil {
		panic(fmt.Sprintf("marshal %q: %v", s, err))
	}
	return string(b)
}
