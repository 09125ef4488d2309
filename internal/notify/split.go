package notify

import "sort"

// fits reports whether a digest makes one message the channel's platform
// takes, as it is sent: mentions of its owners included (they are in the
// text, and a part mentions its own owners only); nil: the channel takes a
// digest whole (webhook, e-mail).
func (ch *Channel) fits() func(Digest) bool { return channelTypeMust(ch.Type).fits }

// Parts splits a digest into the messages the channel sends it as, in
// order, every resource in exactly one: on a chat robot, at most MaxItems
// resources a message and each message within the platform's documented
// size (a resource alone always makes a message: its line is bounded by
// the inventory's field limits); a webhook or an e-mail takes it whole.
func (ch *Channel) Parts(d Digest) []Digest {
	d = ch.localize(d) // measured as sent: in the route's zone, with mentions
	fits := ch.fits()
	if d.Renewal != nil { // one message: the resources that do not fit are counted
		d = ch.fitRenewal(d)
		d.Part, d.Parts = 1, 1
		return []Digest{d}
	}
	if fits == nil || len(d.Items) == 0 {
		d.Part, d.Parts = 1, 1
		return []Digest{d}
	}
	var parts []Digest
	for rest := d.Items; len(rest) > 0; {
		// The most resources that fit: a message only grows with them.
		n := sort.Search(
			min(len(rest), ch.MaxItems),
			func(k int) bool { return !fits(withItems(d, rest[:k+1], 999, 999)) },
		)
		n = max(n, 1)
		parts = append(parts, withItems(d, rest[:n], 0, 0))
		rest = rest[n:]
	}
	for i := range parts {
		parts[i].Part, parts[i].Parts = i+1, len(parts)
	}
	return parts
}

// withItems is d with only items, numbered part of parts (measured with
// the longest numbering it may get).
func withItems(d Digest, items []Item, part, parts int) Digest {
	d.Items, d.Part, d.Parts = items, part, parts
	return d
}

// truncateRunes cuts s to n runes, the last an ellipsis.
func truncateRunes(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
