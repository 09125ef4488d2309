package topology

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"expiry-sync/internal/metrics"
)

// dashboard is the part of Grafana's dashboard model the test reads.
type dashboard struct {
	Title  string  `json:"title"`
	Panels []panel `json:"panels"`
}

type panel struct {
	Title   string  `json:"title"`
	Type    string  `json:"type"`
	Panels  []panel `json:"panels"` // of a collapsed row
	Targets []struct {
		Expr string `json:"expr"`
	} `json:"targets"`
}

// metricName matches the metric names a query can use: the worker's own
// (expiry_sync_) and the Temporal SDK's (temporal_).
var metricName = regexp.MustCompile(`\b(?:expiry_sync|temporal)_[a-zA-Z0-9_]+`)

// familyOf maps a histogram's series to its family.
func familyOf(series string) string {
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		if base, ok := strings.CutSuffix(series, suffix); ok {
			return base
		}
	}
	return series
}

func loadDashboard(t require.TestingT) dashboard {
	b, err := os.ReadFile(filepath.Join(repo, "deploy/grafana/dashboards/expiry-sync.json"))
	require.NoError(t, err)
	var d dashboard
	require.NoError(t, json.Unmarshal(b, &d))
	return d
}

func flatten(panels []panel) []panel {
	var all []panel
	for _, p := range panels {
		all = append(all, p)
		all = append(all, flatten(p.Panels)...)
	}
	return all
}

// checkDashboard: every query of every panel names only metrics that the
// worker really exported after the syncs, and the dashboard covers what
// operators ask for.
func (top *topology) checkDashboard(s scrape) {
	t := top.t
	d := loadDashboard(t)
	queries := 0
	for _, p := range flatten(d.Panels) {
		if p.Type == "row" {
			continue
		}
		require.NotEmpty(t, p.Targets, "panel %q has a query", p.Title)
		for _, target := range p.Targets {
			names := metricName.FindAllString(target.Expr, -1)
			assert.NotEmpty(t, names, "panel %q: query %q names an expiry_sync_ or temporal_ metric", p.Title, target.Expr)
			for _, name := range names {
				_, exported := s.families[name]
				if !exported {
					_, exported = s.families[familyOf(name)]
				}
				// It has an account's series once the worker ran that
				// account's reminders, which this topology does not.
				exported = exported || name == metrics.NotifyDueUndeliveredFamily
				assert.True(t, exported, "panel %q: %s is not exported by the worker", p.Title, name)
			}
			queries++
		}
	}
	assert.GreaterOrEqual(t, queries, 10)
	var titles []string
	for _, p := range d.Panels {
		if p.Type == "row" {
			titles = append(titles, p.Title)
		}
	}
	assert.Equal(t, []string{"Expiring resources", "Syncs", "Huawei API", "Worker health (Temporal SDK)", "Reminders"}, titles)
}
