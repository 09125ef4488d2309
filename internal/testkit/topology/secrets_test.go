package topology

import (
	"encoding/json"
	"net/url"
	"strings"

	"github.com/stretchr/testify/assert"
)

// checkNoSecretLeaks scans every process's log, the metrics and the
// readiness answer for each compose secret's value (and its URL-escaped
// form, as a password in a URL would show), and checks that the worker
// logs JSON lines as LOG_FORMAT=json asks.
func (top *topology) checkNoSecretLeaks(s scrape) {
	t := top.t
	_, ready, err := httpGet(top.metrics + "/readyz")
	assert.NoError(t, err)
	texts := map[string]string{"/metrics": s.text, "/readyz": ready}
	for _, p := range top.logs {
		texts[p.name+" log"] = p.output()
	}
	for name, secret := range top.project.Secrets {
		if len(secret.Content) < 6 { // the empty payload key
			continue
		}
		for where, text := range texts {
			for _, form := range []string{secret.Content, url.QueryEscape(secret.Content), url.PathEscape(secret.Content)} {
				if name == "huawei_access_key" && where == "hwsim log" {
					continue // the simulator is the other side: it knows the key id
				}
				assert.NotContains(t, text, form, "secret %s in %s", name, where)
			}
		}
	}

	lines := strings.Split(strings.TrimSpace(top.worker.output()), "\n")
	assert.Greater(t, len(lines), 2)
	for _, line := range lines {
		var entry map[string]any
		if assert.NoError(t, json.Unmarshal([]byte(line), &entry), "worker log line is JSON: %s", line) {
			assert.Contains(t, entry, "level")
			assert.Contains(t, entry, "msg")
		}
	}
}
