package workflows

import "expiry-sync/internal/inventory"

// rowOverhead approximates one row's JSON without its tags.
const rowOverhead = 400

// chunk cuts rows into batches of at most maxRows rows and about maxBytes of
// payload, so a batch of heavily tagged resources still fits in history.
func chunk(rows []inventory.Row, maxRows, maxBytes int) [][]inventory.Row {
	var out [][]inventory.Row
	start, size := 0, 0
	for i, r := range rows {
		n := rowSize(r)
		if i > start && (i-start == maxRows || size+n > maxBytes) {
			out = append(out, rows[start:i:i])
			start, size = i, 0
		}
		size += n
	}
	if start < len(rows) {
		out = append(out, rows[start:])
	}
	return out
}

func rowSize(r inventory.Row) int {
	n := rowOverhead + len(r.Name) + len(r.Tags.Error)
	// A sum does not depend on the map's order.
	//workflowcheck:ignore
	for k, v := range r.Tags.Tags {
		n += len(k) + len(v) + 8
	}
	return n
}
