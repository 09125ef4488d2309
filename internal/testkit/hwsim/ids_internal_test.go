package hwsim

import (
	"testing"
	"time"
)

func TestIDCodecRoundTrip(t *testing.T) {
	for _, m := range []uint64{mulA, mulB} {
		if got := m * inverse48(m) & mask48; got != 1 {
			t.Fatalf("inverse48(%#x): product %#x, want 1", m, got)
		}
	}
	for _, seed := range []int64{0, 1, -7, 1 << 40} {
		c := newIDCodec(seed)
		seen := map[uint64]bool{}
		for _, i := range []int{0, 1, 2, 63, 64, 999_999, 1_000_000, 1<<40 - 1} {
			x := c.encode(i)
			if x > mask48 {
				t.Fatalf("encode(%d) = %#x exceeds 48 bits", i, x)
			}
			if seen[x] {
				t.Fatalf("encode collision at %d", i)
			}
			seen[x] = true
			if got := c.decode(x); got != uint64(i) {
				t.Fatalf("seed %d: decode(encode(%d)) = %d", seed, i, got)
			}
		}
	}
}

// TestMillionResources checks the upper bound stays cheap: generation,
// lookup of the last record, and a full BSS scan.
func TestMillionResources(t *testing.T) {
	if testing.Short() {
		t.Skip("generates a million records")
	}
	start := time.Now()
	d := newDataset(1, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), MaxResources, false)
	t.Logf("1M records generated in %s", time.Since(start))
	last := resourceID(d.seed, d.codec, MaxResources-1)
	r, ok := d.lookup(last)
	if !ok || r.ResourceID != last {
		t.Fatalf("lookup of the last record failed")
	}
	s := &Simulator{data: d}
	start = time.Now()
	resp := s.listBSS(&bssFilter{begin: expireMin - 1, end: expireMax + 1, statuses: 1 << 5}, 0, 500, newRuntimeConfig(Knobs{}, nil))
	t.Logf("1M-record filtered scan in %s, %d matches", time.Since(start), resp.TotalCount)
	if resp.TotalCount == 0 || len(resp.Data) != 500 {
		t.Fatalf("scan: total %d, page %d", resp.TotalCount, len(resp.Data))
	}
	if got := len(d.add(10)); got != 0 {
		t.Fatalf("add past MaxResources added %d records", got)
	}
}
