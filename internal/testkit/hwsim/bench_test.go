package hwsim_test

import (
	"testing"

	bssmodel "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/bss/v2/model"
	tmsmodel "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/tms/v1/model"

	"expiry-sync/internal/testkit/hwsim"
)

// The request benchmarks go through the real SDK and loopback HTTP, so they
// measure what an end-to-end test pays per call (client side included).

func BenchmarkBSSListPage500Of100k(b *testing.B) {
	sim, url := newSim(b, 100_000)
	client := bssClient(b, url, goodCreds, httpConfig())
	total := int32(sim.Len())
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		offset := int32(0)
		for pb.Next() {
			body := bssmodel.QueryResourcesReq{Limit: ptr(int32(500)), Offset: ptr(offset)}
			if _, err := client.ListPayPerUseCustomerResources(&bssmodel.ListPayPerUseCustomerResourcesRequest{Body: &body}); err != nil {
				b.Error(err)
				return
			}
			offset = (offset + 500) % total
		}
	})
}

func BenchmarkTMSShowOf100k(b *testing.B) {
	sim, url := newSim(b, 100_000)
	client := tmsClient(b, url, goodCreds, httpConfig())
	var vms []hwsim.Resource
	for r := range sim.All() {
		if r.TMSResourceType != "" {
			vms = append(vms, r)
		}
	}
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			r := vms[i%len(vms)]
			i += 7919
			if _, err := client.ShowResourceTag(&tmsmodel.ShowResourceTagRequest{ResourceId: r.ResourceID, ProjectId: &r.ProjectID, ResourceType: r.TMSResourceType}); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkTMSFilterPage200Of100k(b *testing.B) {
	sim, url := newSim(b, 100_000)
	client := tmsClient(b, url, goodCreds, httpConfig())
	project := sim.Projects()[0].ID
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		offset := int32(0)
		for pb.Next() {
			body := tmsmodel.ResqTagResource{ProjectId: &project, ResourceTypes: []string{"ecs", "disk", "eip"}, Tags: []tmsmodel.Tag{}, Limit: ptr(int32(200)), Offset: ptr(offset)}
			resp, err := client.ListResource(&tmsmodel.ListResourceRequest{Body: &body})
			if err != nil {
				b.Error(err)
				return
			}
			offset = (offset + 200) % max(*resp.TotalCount, 1)
		}
	})
}
