package e2e

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/http"
	"net/mail"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"github.com/stretchr/testify/require"
)

// Test-owned receivers of each platform. Each verifies the request the way
// the platform documents it (signature, token, timestamp window, size) and
// answers as the platform does; the notify package's own signing functions
// are not used here.

// received is one message a receiver accepted.
type received struct {
	Title string
	Text  string // everything a reader sees, to look resource ids up in
	ID    string // webhook-id, Message-ID
	HTML  string // e-mail only
}

// receiver is an HTTP server standing in for one platform.
type receiver struct {
	t      *testing.T
	kind   string
	token  string // the credential in the URL
	secret string
	addr   string

	mu       sync.Mutex
	srv      *http.Server
	accepted []received
	refused  []string // why requests were refused (bad signature, injected failures)
	requests int
	// script answers the n-th request (from 1) instead of the platform
	// logic when it returns true.
	script func(n int, w http.ResponseWriter) bool
	// hold, when set, blocks request holdAt (0: the first) until it is
	// closed; held is closed when that request arrives.
	hold, held chan struct{}
	holdAt     int
	// heldGone is done when the held request's sender hung up; with
	// dropGone such a request is dropped once released, as a platform
	// that never got all of it.
	heldGone <-chan struct{}
	dropGone bool
	// arrivals are the times requests arrived, for the platform's rate
	// limit; throttled counts the requests it refused as too fast, and
	// blockedUntil ends the block DingTalk puts a robot in.
	arrivals     []time.Time
	throttled    int
	blockedUntil time.Time
}

// robotLimit is a documented sending limit of one robot: at most n
// messages in any window of per.
type robotLimit struct {
	n   int
	per time.Duration
}

// robotLimits are the platforms' documented limits, enforced as sliding
// windows (stricter than a platform counting per calendar minute):
//   - DingTalk custom robot: 20 a minute; beyond, errcode 130101 and the
//     robot is blocked for 10 minutes (open.dingtalk.com, 自定义机器人发送群消息,
//     消息发送频率限制);
//   - WeCom group robot: 20 a minute, beyond errcode 45009
//     (developer.work.weixin.qq.com/document/path/91770, 消息发送频率限制);
//   - Feishu custom bot: 100 a minute and 5 a second, beyond code 11232
//     (open.feishu.cn, 自定义机器人使用指南, 使用限制);
//   - Slack incoming webhook: one a second, short bursts allowed, beyond
//     HTTP 429 with Retry-After (api.slack.com/apis/rate-limits).
var robotLimits = map[string][]robotLimit{
	"dingtalk": {{20, time.Minute}},
	"wecom":    {{20, time.Minute}},
	"feishu":   {{5, time.Second}, {100, time.Minute}},
	"slack":    {{2, time.Second}},
}

// dingTalkBlock is how long DingTalk blocks a robot that went over.
const dingTalkBlock = 10 * time.Minute

// tooFast records a request's arrival and reports whether the platform
// would refuse it as over its rate limit.
func (r *receiver) tooFast(now time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	limits := robotLimits[r.kind]
	if len(limits) == 0 {
		return false
	}
	r.arrivals = append(r.arrivals, now)
	over := now.Before(r.blockedUntil)
	for _, l := range limits {
		in := 0
		for _, t := range r.arrivals {
			if now.Sub(t) < l.per {
				in++
			}
		}
		over = over || in > l.n
	}
	if over {
		r.throttled++
		if r.kind == "dingtalk" && !now.Before(r.blockedUntil) {
			r.blockedUntil = now.Add(dingTalkBlock)
		}
	}
	return over
}

// answerTooFast answers as the platform does when a robot sends too fast.
func (r *receiver) answerTooFast(w http.ResponseWriter) {
	switch r.kind {
	case "dingtalk":
		_, _ = io.WriteString(w, `{"errcode":130101,"errmsg":"send too fast, exceed 20 times per minute"}`)
	case "wecom":
		_, _ = io.WriteString(w, `{"errcode":45009,"errmsg":"api freq out of limit"}`)
	case "feishu":
		_, _ = io.WriteString(w, `{"code":11232,"msg":"frequency limited psm[lark.oapi.app_platform_runtime]appID[0]","data":{}}`)
	case "slack":
		w.Header().Set("Retry-After", "1")
		http.Error(w, "rate_limited", http.StatusTooManyRequests)
	}
}

// throttles is how many requests the receiver refused as too fast.
func (r *receiver) throttles() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.throttled
}

func newReceiver(t *testing.T, kind, secret string) *receiver {
	r := &receiver{t: t, kind: kind, token: randomToken(), secret: secret}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	r.addr = l.Addr().String()
	r.serve(l)
	t.Cleanup(r.stop)
	return r
}

func randomToken() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%x", b)
}

func (r *receiver) serve(l net.Listener) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.srv = &http.Server{Handler: http.HandlerFunc(r.handle)}
	go func() { _ = r.srv.Serve(l) }()
}

func (r *receiver) stop() {
	r.mu.Lock()
	srv := r.srv
	r.mu.Unlock()
	if srv != nil {
		_ = srv.Close()
	}
}

// down stops listening; up listens again on the same address.
func (r *receiver) down() { r.stop() }
func (r *receiver) up() {
	l, err := net.Listen("tcp", r.addr)
	require.NoError(r.t, err)
	r.serve(l)
}

// url is the address the routes file gives the channel.
func (r *receiver) url() string {
	base := "http://" + r.addr
	switch r.kind {
	case "dingtalk":
		return base + "/robot/send?access_token=" + r.token
	case "feishu":
		return base + "/open-apis/bot/v2/hook/" + r.token
	case "wecom":
		return base + "/cgi-bin/webhook/send?key=" + r.token
	case "slack":
		return base + "/services/T0000/B0000/" + r.token
	}
	return base + "/hooks/" + r.token
}

func (r *receiver) messages() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.accepted...)
}

func (r *receiver) requestCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.requests
}

func (r *receiver) handle(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	r.requests++
	n, script, hold, held, holdAt, dropGone := r.requests, r.script, r.hold, r.held, max(r.holdAt, 1), r.dropGone
	if hold != nil && n == holdAt {
		r.heldGone = req.Context().Done()
	}
	r.mu.Unlock()
	if hold != nil && n == holdAt {
		close(held)
		<-hold
		if dropGone && req.Context().Err() != nil {
			r.refuse(fmt.Sprintf("request %d: its sender hung up before it was taken", n))
			return
		}
	}
	if script != nil && script(n, w) {
		r.refuse(fmt.Sprintf("request %d: scripted failure", n))
		return
	}
	if r.tooFast(time.Now()) {
		r.refuse(fmt.Sprintf("request %d: too fast for %s's rate limit", n, r.kind))
		r.answerTooFast(w)
		return
	}
	msg, err := r.verify(req, body)
	if err != nil {
		r.refuse(err.Error())
		r.answerRefusal(w, err)
		return
	}
	r.mu.Lock()
	r.accepted = append(r.accepted, msg)
	r.mu.Unlock()
	r.answerOK(w)
}

func (r *receiver) setScript(f func(n int, w http.ResponseWriter) bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.script = f
}

// holdNext blocks the next request until release is called; held is
// closed when it arrives, gone (valid once held is closed) when its sender
// hung up. With drop, a request whose sender hung up before its release
// is not taken.
func (r *receiver) holdNext(drop bool) (held <-chan struct{}, gone func() <-chan struct{}, release func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	hold := make(chan struct{})
	r.hold, r.held, r.holdAt, r.dropGone = hold, make(chan struct{}), r.requests+1, drop
	var once sync.Once
	gone = func() <-chan struct{} {
		r.mu.Lock()
		defer r.mu.Unlock()
		return r.heldGone
	}
	return r.held, gone, func() { once.Do(func() { close(hold) }) }
}

func (r *receiver) refuse(why string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.refused = append(r.refused, why)
}

func (r *receiver) answerOK(w http.ResponseWriter) {
	switch r.kind {
	case "dingtalk", "wecom":
		_, _ = io.WriteString(w, `{"errcode":0,"errmsg":"ok"}`)
	case "feishu":
		_, _ = io.WriteString(w, `{"code":0,"msg":"success","data":{}}`)
	case "slack":
		_, _ = io.WriteString(w, "ok")
	default:
		w.WriteHeader(http.StatusNoContent)
	}
}

// errTooLarge: a message over the platform's documented size.
var errTooLarge = errors.New("message too large")

// answerRefusal answers a bad request as the platform does: a message too
// large with DingTalk's 460101, WeCom's 40058, Feishu's 9499 and Slack's
// invalid_blocks; any other fault as a bad signature or key.
func (r *receiver) answerRefusal(w http.ResponseWriter, err error) {
	if errors.Is(err, errTooLarge) {
		switch r.kind {
		case "dingtalk":
			_, _ = io.WriteString(w, `{"errcode":460101,"errmsg":"message too long, exceed 20000 bytes"}`)
			return
		case "wecom":
			_, _ = io.WriteString(w, `{"errcode":40058,"errmsg":"markdown.content exceed max length 4096"}`)
			return
		case "feishu":
			_, _ = io.WriteString(w, `{"code":9499,"msg":"Bad Request","data":{}}`)
			return
		case "slack":
			http.Error(w, "invalid_blocks", http.StatusBadRequest)
			return
		}
	}
	switch r.kind {
	case "dingtalk":
		_, _ = io.WriteString(w, `{"errcode":310000,"errmsg":"sign not match"}`)
	case "wecom":
		_, _ = io.WriteString(w, `{"errcode":93000,"errmsg":"invalid webhook url"}`)
	case "feishu":
		_, _ = io.WriteString(w, `{"code":19021,"msg":"sign match fail or timestamp is not within one hour from current time","data":{}}`)
	case "slack":
		http.Error(w, "invalid_token", http.StatusForbidden)
	default:
		http.Error(w, err.Error(), http.StatusUnauthorized)
	}
}

func hmacSHA256(key, msg []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(msg)
	return m.Sum(nil)
}

// verify checks a request as the platform documents it and extracts the
// message.
func (r *receiver) verify(req *http.Request, body []byte) (received, error) {
	if req.Method != http.MethodPost {
		return received{}, errors.New("not a POST")
	}
	switch r.kind {
	case "dingtalk":
		return r.verifyDingTalk(req, body)
	case "feishu":
		return r.verifyFeishu(req, body)
	case "wecom":
		return r.verifyWeCom(req, body)
	case "slack":
		return r.verifySlack(req, body)
	}
	return r.verifyWebhook(req, body)
}

// Standard Webhooks 1.0: signed content "id.timestamp.body", HMAC-SHA256
// with the base64-decoded whsec_ secret, header "v1,<base64>", timestamp
// within 5 minutes.
func (r *receiver) verifyWebhook(req *http.Request, body []byte) (received, error) {
	if req.URL.Path != "/hooks/"+r.token {
		return received{}, errors.New("unknown hook")
	}
	id, ts, sig := req.Header.Get("webhook-id"), req.Header.Get("webhook-timestamp"), req.Header.Get("webhook-signature")
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || id == "" || time.Since(time.Unix(sec, 0)).Abs() > 5*time.Minute {
		return received{}, errors.New("missing id or timestamp out of tolerance")
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(r.secret, "whsec_"))
	if err != nil {
		return received{}, err
	}
	want := "v1," + base64.StdEncoding.EncodeToString(hmacSHA256(key, []byte(id+"."+ts+"."+string(body))))
	ok := false
	for _, s := range strings.Fields(sig) {
		ok = ok || hmac.Equal([]byte(s), []byte(want))
	}
	if !ok {
		return received{}, errors.New("webhook-signature does not verify")
	}
	var ev struct {
		Data struct {
			Title     string `json:"title"`
			Text      string `json:"text"`
			Resources []struct {
				ResourceID string `json:"resource_id"`
			} `json:"resources"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &ev); err != nil {
		return received{}, err
	}
	text := ev.Data.Text
	for _, res := range ev.Data.Resources {
		text += " " + res.ResourceID
	}
	return received{Title: ev.Data.Title, Text: text, ID: id}, nil
}

// DingTalk custom robot with 加签: access_token in the query, timestamp in
// ms within an hour, sign = urlencode(base64(HmacSHA256(secret,
// timestamp+"\n"+secret))).
func (r *receiver) verifyDingTalk(req *http.Request, body []byte) (received, error) {
	q := req.URL.Query()
	if req.URL.Path != "/robot/send" || q.Get("access_token") != r.token {
		return received{}, errors.New("bad access_token")
	}
	ms, err := strconv.ParseInt(q.Get("timestamp"), 10, 64)
	if err != nil || time.Since(time.UnixMilli(ms)).Abs() > time.Hour {
		return received{}, errors.New("timestamp out of range")
	}
	want := base64.StdEncoding.EncodeToString(hmacSHA256([]byte(r.secret), []byte(q.Get("timestamp")+"\n"+r.secret)))
	if q.Get("sign") != want {
		return received{}, errors.New("sign not match")
	}
	var m struct {
		Msgtype  string `json:"msgtype"`
		Markdown struct{ Title, Text string }
	}
	if err := json.Unmarshal(body, &m); err != nil || m.Msgtype != "markdown" || m.Markdown.Title == "" {
		return received{}, errors.New("not a markdown message")
	}
	if len(m.Markdown.Text) > 20000 {
		return received{}, fmt.Errorf("%w: markdown text of %d bytes, DingTalk takes 20,000", errTooLarge, len(m.Markdown.Text))
	}
	return received{Title: m.Markdown.Title, Text: m.Markdown.Text}, nil
}

// Feishu custom bot with 签名校验: timestamp (s, within an hour) and sign in
// the body; sign = base64(HmacSHA256(key = timestamp+"\n"+secret, "")).
func (r *receiver) verifyFeishu(req *http.Request, body []byte) (received, error) {
	if req.URL.Path != "/open-apis/bot/v2/hook/"+r.token {
		return received{}, errors.New("unknown hook")
	}
	if len(body) > 20<<10 {
		return received{}, fmt.Errorf("%w: body of %d bytes, Feishu takes 20 KB", errTooLarge, len(body))
	}
	var m struct {
		Timestamp string `json:"timestamp"`
		Sign      string `json:"sign"`
		MsgType   string `json:"msg_type"`
		Content   struct {
			Post map[string]struct {
				Title   string `json:"title"`
				Content [][]struct {
					Tag  string `json:"tag"`
					Text string `json:"text"`
				} `json:"content"`
			} `json:"post"`
		} `json:"content"`
	}
	if err := json.Unmarshal(body, &m); err != nil {
		return received{}, err
	}
	sec, err := strconv.ParseInt(m.Timestamp, 10, 64)
	if err != nil || time.Since(time.Unix(sec, 0)).Abs() > time.Hour {
		return received{}, errors.New("timestamp out of range")
	}
	if m.Sign != base64.StdEncoding.EncodeToString(hmacSHA256([]byte(m.Timestamp+"\n"+r.secret), nil)) {
		return received{}, errors.New("sign match fail")
	}
	if m.MsgType != "post" || len(m.Content.Post) != 1 {
		return received{}, errors.New("not a post message")
	}
	var out received
	for _, p := range m.Content.Post {
		out.Title = p.Title
		for _, para := range p.Content {
			for _, el := range para {
				out.Text += el.Text + "\n"
			}
		}
	}
	return out, nil
}

// WeCom group robot: the key in the query is the credential; markdown
// content at most 4,096 bytes.
func (r *receiver) verifyWeCom(req *http.Request, body []byte) (received, error) {
	if req.URL.Path != "/cgi-bin/webhook/send" || req.URL.Query().Get("key") != r.token {
		return received{}, errors.New("invalid webhook url")
	}
	var m struct {
		Msgtype  string `json:"msgtype"`
		Markdown struct {
			Content string `json:"content"`
		} `json:"markdown"`
	}
	if err := json.Unmarshal(body, &m); err != nil || m.Msgtype != "markdown" {
		return received{}, errors.New("bad markdown message")
	}
	if len(m.Markdown.Content) > 4096 {
		return received{}, fmt.Errorf("%w: markdown content of %d bytes, WeCom takes 4,096", errTooLarge, len(m.Markdown.Content))
	}
	title, _, _ := strings.Cut(m.Markdown.Content, "\n")
	return received{Title: title, Text: m.Markdown.Content}, nil
}

// Slack incoming webhook: the URL is the credential; "text" is required.
func (r *receiver) verifySlack(req *http.Request, body []byte) (received, error) {
	if req.URL.Path != "/services/T0000/B0000/"+r.token {
		return received{}, errors.New("no_service")
	}
	var m struct {
		Text   string `json:"text"`
		Blocks []struct {
			Text struct {
				Text string `json:"text"`
			} `json:"text"`
		} `json:"blocks"`
	}
	if err := json.Unmarshal(body, &m); err != nil || m.Text == "" {
		return received{}, errors.New("invalid_payload")
	}
	if len(m.Blocks) > 50 {
		return received{}, fmt.Errorf("%w: %d blocks, Slack takes 50", errTooLarge, len(m.Blocks))
	}
	for _, b := range m.Blocks {
		if n := utf8.RuneCountInString(b.Text.Text); n > 3000 {
			return received{}, fmt.Errorf("%w: a section of %d characters, Slack takes 3,000", errTooLarge, n)
		}
	}
	out := received{Title: m.Text}
	for _, b := range m.Blocks {
		out.Text += b.Text.Text + "\n"
	}
	return out, nil
}

// mailServer is an SMTP relay that offers STARTTLS with a test CA and
// requires AUTH PLAIN.
type mailServer struct {
	addr, caFile, user, password string
	mu                           sync.Mutex
	mails                        []received
	srv                          *smtp.Server
}

func newMailServer(t *testing.T) *mailServer {
	cert, caPEM := selfSigned(t)
	m := &mailServer{user: "notifier", password: "smtp-pass-" + randomToken()}
	m.caFile = filepath.Join(t.TempDir(), "ca.pem")
	require.NoError(t, os.WriteFile(m.caFile, caPEM, 0o600))
	m.srv = smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &mailSession{m: m}, nil }))
	m.srv.Domain = "localhost"
	m.srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
	m.srv.ReadTimeout, m.srv.WriteTimeout = 10*time.Second, 10*time.Second
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	m.addr = l.Addr().String()
	go func() { _ = m.srv.Serve(l) }()
	t.Cleanup(func() { _ = m.srv.Close() })
	return m
}

func (m *mailServer) messages() []received {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]received(nil), m.mails...)
}

type mailSession struct {
	m    *mailServer
	auth bool
}

func (s *mailSession) AuthMechanisms() []string { return []string{sasl.Plain} }
func (s *mailSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != s.m.user || pass != s.m.password {
			return errors.New("invalid credentials")
		}
		s.auth = true
		return nil
	}), nil
}
func (s *mailSession) Mail(string, *smtp.MailOptions) error {
	if !s.auth {
		return smtp.ErrAuthRequired
	}
	return nil
}
func (s *mailSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (s *mailSession) Reset()                               {}
func (s *mailSession) Logout() error                        { return nil }
func (s *mailSession) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	msg, err := parseMail(raw)
	if err != nil {
		return err
	}
	s.m.mu.Lock()
	s.m.mails = append(s.m.mails, msg)
	s.m.mu.Unlock()
	return nil
}

// parseMail reads a multipart/alternative mail: subject, text and HTML.
func parseMail(raw []byte) (received, error) {
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return received{}, err
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if err != nil {
		return received{}, err
	}
	out := received{Title: subject, ID: msg.Header.Get("Message-ID")}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/alternative" {
		return received{}, fmt.Errorf("content type %q is not multipart/alternative", mt)
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return received{}, err
		}
		b, err := io.ReadAll(quotedprintable.NewReader(p))
		if err != nil {
			return received{}, err
		}
		switch {
		case strings.HasPrefix(p.Header.Get("Content-Type"), "text/plain; charset=UTF-8"):
			out.Text = string(b)
		case strings.HasPrefix(p.Header.Get("Content-Type"), "text/html; charset=UTF-8"):
			out.HTML = string(b)
		}
	}
	if out.Text == "" || out.HTML == "" {
		return received{}, errors.New("a part is missing")
	}
	return out, nil
}

// selfSigned makes a CA-signed-by-itself certificate for 127.0.0.1.
func selfSigned(t *testing.T) (tls.Certificate, []byte) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "expiry-sync test relay"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, IsCA: true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	require.NoError(t, err)
	return cert, certPEM
}
