package huawei_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"

	"expiry-sync/internal/huawei"
	"expiry-sync/internal/inventory"
)

// answering is a client whose every call gets status and body.
func answering(t *testing.T, status int, body string) *huawei.Client {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	return newClient(t, srv.URL)
}

func flat(code, msg string) string   { return `{"error_code":"` + code + `","error_msg":"` + msg + `"}` }
func nested(code, msg string) string { return `{"error":` + flat(code, msg) + `}` }

var ecsTarget = inventory.TagTarget{ResourceID: "srv-1", ProjectID: "p1", ResourceTypeCode: "hws.resource.type.vm", TagType: "ecs", EnterpriseProjectID: "ep-1"}

// Each refusal's hint says what Huawei's permission model makes of it:
// both authorization schemes' actions, the owning service's permission of
// a tag read, an IP block that no grant fixes, ListProviders tolerated.
func TestPermissionHintsPerError(t *testing.T) {
	ctx := context.Background()
	list := func(c *huawei.Client) error { _, err := c.ListPage(ctx, wideWindow(0, 10)); return err }
	tags := func(c *huawei.Client) error { _, err := c.ResourceTags(ctx, ecsTarget); return err }
	providers := func(c *huawei.Client) error { _, err := c.Providers(ctx); return err }
	bulk := func(c *huawei.Client) error { return c.ProbeListResource(ctx, "p1", "ecs") }
	for name, tc := range map[string]struct {
		status  int
		body    string
		call    func(*huawei.Client) error
		kind    huawei.Kind
		action  string
		scope   string
		want    []string
		wantNot []string
	}{
		"BSS APIGW.0302 is an IP block": {403, flat("APIGW.0302", "The IAM user is not authorized to access the API."), list, huawei.KindForbidden, "", "",
			[]string{"refused this machine's IP address", "not a missing IAM permission", "egress address"}, []string{"grant"}},
		"TMS APIG.0302 blocks every type": {403, flat("APIG.0302", "Access denied."), tags, huawei.KindForbidden, "", huawei.AllTags,
			[]string{"refused this machine's IP address"}, []string{"grant"}},
		"BSS listing refused": {403, flat("CBC.0151", "Access denied."), list, huawei.KindForbidden, "billing:subscription:view", "",
			[]string{"billing:subscription:view (identity policies)", "bss:order:view (roles and policies)", "Partner Center permission BPC_ITEM_SUBCUSTSERV_010105"}, nil},
		"BSS refusal naming its permission": {403, flat("CBC.0155", "checkCustomerPermission,correct permission code is billing:order:view"), list, huawei.KindForbidden, "billing:order:view", "",
			[]string{"Huawei's answer names billing:order:view", "bss:order:view (roles and policies)"}, nil},
		"tag read of ECS refused": {403, nested("TMS.0004", "You do not have permissions to perform the operation."), tags, huawei.KindForbidden, "tms:resourceTags:list", "ecs",
			[]string{"may not read the tags of TMS type ecs", "tms:resourceTags:list and ecs:cloudServers:showServerTags (identity policies) or ecs:servers:getTags (roles and policies)", "keeps the stored tags"}, nil},
		"tag read refused in an enterprise project": {403, nested("TMS.0004", "ecs:cloudServers:showServerTags is not allowed in enterprise project ep-1"), tags, huawei.KindForbidden, "ecs:cloudServers:showServerTags", "ecs@ep-1",
			[]string{"TMS type ecs@ep-1", "Huawei's answer names ecs:cloudServers:showServerTags"}, nil},
		"ListProviders refused under roles and policies": {403, nested("TMS.0004", "You do not have permissions to perform the operation."), providers, huawei.KindForbidden, "", "",
			[]string{"no permission under identity policies", "Tenant Guest", "the worker tolerates this"}, nil},
		"ListResource refused": {403, nested("TMS.0004", "You do not have permissions to perform the operation."), bulk, huawei.KindForbidden, "tms:resources:list", "",
			[]string{"lacks tms:resources:list"}, nil},
		"BSS throttles the address": {400, flat(huawei.CodeIPThrottled, "Too many requests from this IP."), list, huawei.KindThrottled, "", "",
			[]string{"every account behind it", "HUAWEI_BSS_IP_RATE"}, nil},
	} {
		t.Run(name, func(t *testing.T) {
			ae := apiError(t, tc.call(answering(t, tc.status, tc.body)))
			assert.Equal(t, tc.kind, ae.Kind)
			assert.Equal(t, tc.action, ae.IAMAction)
			assert.Equal(t, tc.scope, ae.Scope)
			for _, w := range tc.want {
				assert.Contains(t, ae.Hint(), w)
			}
			for _, w := range tc.wantNot {
				assert.NotContains(t, ae.Hint(), w)
			}
		})
	}
}
