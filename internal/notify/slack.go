package notify

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"time"
)

// TypeSlack is a Slack incoming webhook.
const TypeSlack = "slack"

// slackMaxBlocks and slackSectionChars: a message holds at most 50 blocks,
// a section's text at most 3,000 characters (Block Kit reference); a
// margin is kept on the section.
const (
	slackMaxBlocks    = 50
	slackSectionChars = 2900
)

// slack: unsigned (the URL is its credential), at most once, about one
// message a second (rate limits), with Retry-After on a 429.
func slack() channelType {
	return channelType{
		name: TypeSlack, atMostOnce: true,
		pace:     Pace{PerSecond: 1, Block: time.Second},
		fits:     func(d Digest) bool { return len(slackBlocks(d)) <= slackMaxBlocks },
		mentions: Digest.slackMentions,
		send:     (*Channel).sendSlack,
	}
}

// sendSlack posts to a Slack incoming webhook
// (https://api.slack.com/messaging/webhooks): a JSON body with "text" (the
// notification fallback) and "blocks" in mrkdwn. The URL itself is the
// credential; Slack does not sign incoming webhooks. Slack answers 200
// "ok"; errors are 400 invalid_payload / no_text, 403 action_prohibited,
// 404 channel_not_found, 410 channel_is_archived (not retried), 429 with
// Retry-After (https://api.slack.com/docs/rate-limits: about one message
// per second) and 5xx (retried).
func (ch *Channel) sendSlack(ctx context.Context, m Message) error {
	target, err := ch.resolveURL()
	if err != nil {
		return err
	}
	body, _ := json.Marshal(map[string]any{"text": m.Digest.Title(), "blocks": slackBlocks(m.Digest)})
	r, err := ch.post(ctx, target, body, http.Header{})
	if err != nil {
		return err
	}
	if r.status != http.StatusOK {
		return ch.statusError(r, short(string(r.body)))
	}
	return nil
}

// slackBlocks lay every resource of the digest out in mrkdwn sections, then
// the mentions of their owners ("<@U…>"); a section's text holds at most
// 3,000 characters, so lines are grouped.
func slackBlocks(d Digest) []map[string]any {
	blocks := []map[string]any{
		{"type": "header", "text": map[string]any{"type": "plain_text", "text": truncateRunes(d.Title(), 150)}},
	}
	var lines []string
	if d.Renewal != nil {
		lines = d.noticeChatLines(slackNotice)
	} else {
		blocks = append(blocks, slackSection(slackEscape(d.intro())))
	}
	for _, it := range d.Items {
		l := "• *" + slackEscape(tagValue(it.Name)) + "* `" + slackCode(it.ResourceID) + "` " +
			d.at(it.ExpireTime) + " (" + d.When(it) + ") · " +
			slackEscape(tagValue(d.owner(it))) + " · " + d.policy(it.ExpirePolicy)
		if r := d.renewal(it, func(s string) string { return "`" + slackCode(s) + "`" }); r != "" {
			l += " · " + r
		}
		lines = append(lines, l)
	}
	mentions := mentionLines(slackEscape(d.w("mentions")), d.mentionTokens(TypeSlack), slackSectionChars/2)
	lines = append(lines, mentions...)
	var buf string
	for _, l := range lines {
		if buf != "" && len([]rune(buf))+len([]rune(l)) > slackSectionChars {
			blocks = append(blocks, slackSection(buf))
			buf = ""
		}
		buf += l + "\n"
	}
	if buf != "" {
		blocks = append(blocks, slackSection(buf))
	}
	return blocks
}

// slackSection is a section block of mrkdwn text.
func slackSection(text string) map[string]any {
	return map[string]any{"type": "section", "text": map[string]any{"type": "mrkdwn", "text": text}}
}

var slackReplacer = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// slackEscape escapes the three characters Slack's mrkdwn reserves.
func slackEscape(s string) string { return slackReplacer.Replace(s) }
