package notify

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"expiry-sync/internal/testkit/testenv"
)

// The e-mail tests talk to real go-smtp relays on 127.0.0.1. A relay with
// mechanisms requires AUTH with one of them before MAIL, offers it only
// over TLS (STARTTLS or implicit, with a certificate from a test CA trusted
// through smtp.ca_file) and checks the credentials itself.

const (
	relayUser     = "notifier@example.com"
	relayPassword = "pw-Vq7!relay-secret"
	relayToken    = "ya29.token-relay-secret"
)

type testRelay struct {
	mode   string   // starttls, tls or none
	mechs  []string // offered; none: no AUTH
	caFile string
	port   int
	// rcptReply, when set, answers every RCPT; holdData keeps the final
	// dot unanswered until the test ends.
	rcptReply *smtp.SMTPError
	holdData  chan struct{}

	mu    sync.Mutex
	auths []string // "MECH user secret" as the relay saw them
	mails [][]byte
}

func startRelay(t *testing.T, r *testRelay) *testRelay {
	t.Helper()
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &relaySession{r: r}, nil }))
	srv.Domain = "localhost"
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	srv.ErrorLog = log.New(io.Discard, "", 0)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	r.port = l.Addr().(*net.TCPAddr).Port
	if r.mode != "none" {
		var cert tls.Certificate
		cert, r.caFile = relayCert(t)
		cfg := &tls.Config{Certificates: []tls.Certificate{cert}}
		if r.mode == "tls" {
			l = tls.NewListener(l, cfg)
		} else {
			srv.TLSConfig = cfg
		}
	}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	if r.holdData != nil {
		t.Cleanup(func() { close(r.holdData) }) // runs before srv.Close
	}
	return r
}

func (r *testRelay) seen() ([]string, [][]byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.auths...), append([][]byte(nil), r.mails...)
}

// relayCert issues the relay a certificate for 127.0.0.1 from a test CA,
// whose PEM file is for smtp.ca_file.
func relayCert(t *testing.T) (tls.Certificate, string) {
	ca := testenv.NewCA(t, "notify test relay CA")
	return ca.Server("notify test relay", "127.0.0.1").TLS, ca.CertFile
}

type relaySession struct {
	r    *testRelay
	auth bool
}

func (s *relaySession) AuthMechanisms() []string { return s.r.mechs }

func (s *relaySession) Auth(mech string) (sasl.Server, error) {
	record := func(user, secret string) {
		s.r.mu.Lock()
		s.r.auths = append(s.r.auths, mech+" "+user+" "+secret)
		s.r.mu.Unlock()
	}
	checkPassword := func(user, pass string) error {
		record(user, pass)
		if user != relayUser || pass != relayPassword {
			return smtp.ErrAuthFailed // 535 5.7.8
		}
		s.auth = true
		return nil
	}
	switch mech {
	case sasl.Plain:
		return sasl.NewPlainServer(func(_, user, pass string) error { return checkPassword(user, pass) }), nil
	case sasl.Login:
		return &loginServer{check: checkPassword}, nil
	case "XOAUTH2":
		return &xoauth2Server{check: func(user, token string) bool {
			record(user, token)
			s.auth = user == relayUser && token == relayToken
			return s.auth
		}}, nil
	}
	return nil, smtp.ErrAuthUnknownMechanism
}

func (s *relaySession) Mail(string, *smtp.MailOptions) error {
	if len(s.r.mechs) > 0 && !s.auth {
		return smtp.ErrAuthRequired
	}
	return nil
}

func (s *relaySession) Rcpt(string, *smtp.RcptOptions) error {
	if s.r.rcptReply != nil {
		return s.r.rcptReply
	}
	return nil
}

func (s *relaySession) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if s.r.holdData != nil {
		<-s.r.holdData
		return errors.New("held")
	}
	s.r.mu.Lock()
	s.r.mails = append(s.r.mails, raw)
	s.r.mu.Unlock()
	return nil
}

func (s *relaySession) Reset()        {}
func (s *relaySession) Logout() error { return nil }

// loginServer is the server side of LOGIN (draft-murchison-sasl-login),
// which go-sasl lacks: "Username:" (unless the client sent it with AUTH),
// then "Password:".
type loginServer struct {
	user, step string
	check      func(user, pass string) error
}

func (s *loginServer) Next(resp []byte) ([]byte, bool, error) {
	switch {
	case s.step == "" && resp == nil:
		s.step = "user"
		return []byte("Username:"), false, nil
	case s.step == "" || s.step == "user":
		s.user, s.step = string(resp), "password"
		return []byte("Password:"), false, nil
	}
	return nil, true, s.check(s.user, string(resp))
}

// xoauth2Server checks "user=U^Aauth=Bearer T^A^A" and refuses a bad token
// the way Gmail does: a 334 with a JSON error, then 535 once the client
// answered it.
type xoauth2Server struct {
	refused bool
	check   func(user, token string) bool
}

func (s *xoauth2Server) Next(resp []byte) ([]byte, bool, error) {
	switch {
	case s.refused:
		return nil, true, smtp.ErrAuthFailed
	case resp == nil:
		return []byte{}, false, nil
	}
	f := strings.Split(string(resp), "\x01")
	if len(f) != 4 || !strings.HasPrefix(f[0], "user=") || !strings.HasPrefix(f[1], "auth=Bearer ") || f[2] != "" || f[3] != "" {
		return nil, true, &smtp.SMTPError{Code: 501, EnhancedCode: smtp.EnhancedCode{5, 5, 2}, Message: "malformed XOAUTH2"}
	}
	if !s.check(strings.TrimPrefix(f[0], "user="), strings.TrimPrefix(f[1], "auth=Bearer ")) {
		s.refused = true
		return []byte(`{"status":"401","schemes":"bearer","scope":"https://mail.google.com/"}`), false, nil
	}
	return nil, true, nil
}

// mailChannel parses a routes file with one e-mail channel to the relay;
// smtpFields are added to its smtp mapping.
func mailChannel(t *testing.T, r *testRelay, smtpFields string) *Channel {
	t.Helper()
	c, err := Parse([]byte(mailRoutes(r, smtpFields)))
	require.NoError(t, err)
	return c.Channels["mail"]
}

func mailRoutes(r *testRelay, smtpFields string) string {
	ca := ""
	if r.caFile != "" {
		ca = ", ca_file: " + r.caFile
	}
	return fmt.Sprintf(`
default_route: r
channels:
  mail:
    type: email
    timeout: 5s
    smtp: {host: 127.0.0.1, port: %d, tls: %s%s, from: "expiry-sync <noreply@example.com>", to: [ops@example.com]%s}
routes:
  - {name: r, channels: [mail]}
`, r.port, r.mode, ca, smtpFields)
}

func send(ch *Channel, id string) error {
	return ch.Send(context.Background(), Message{ID: id, Digest: Digest{Route: "r", Language: "en", Threshold: 7}})
}

func sendError(t *testing.T, err error) *SendError {
	t.Helper()
	var se *SendError
	require.True(t, errors.As(err, &se), "a *SendError, got %v", err)
	t.Log(se.Class, se.Msg)
	return se
}

// (a) Microsoft 365 and others offer LOGIN only.
func TestEmailAuthLoginOnlyRelay(t *testing.T) {
	r := startRelay(t, &testRelay{mode: "starttls", mechs: []string{sasl.Login}})
	t.Setenv("T_SMTP_PASSWORD", relayPassword)
	ch := mailChannel(t, r, `, username: `+relayUser+`, password: env:T_SMTP_PASSWORD`)
	require.NoError(t, send(ch, "d-login"))
	auths, mails := r.seen()
	assert.Equal(t, []string{"LOGIN " + relayUser + " " + relayPassword}, auths)
	require.Len(t, mails, 1)
	assert.Contains(t, string(mails[0]), "Message-ID: <d-login@expiry-sync>")
}

// (b) XOAUTH2 with the token read from a file, over implicit TLS.
func TestEmailAuthXOAuth2TokenFromFile(t *testing.T) {
	r := startRelay(t, &testRelay{mode: "tls", mechs: []string{"XOAUTH2"}})
	file := filepath.Join(t.TempDir(), "token")
	require.NoError(t, os.WriteFile(file, []byte(relayToken+"\n"), 0o600))
	for name, ref := range map[string]string{"reference": "file:" + file, "mapping": "{file: " + file + "}"} {
		t.Run(name, func(t *testing.T) {
			ch := mailChannel(t, r, `, username: `+relayUser+`, oauth2_token: `+ref)
			require.NoError(t, send(ch, "d-xoauth2"))
		})
	}
	auths, mails := r.seen()
	assert.Equal(t, []string{"XOAUTH2 " + relayUser + " " + relayToken, "XOAUTH2 " + relayUser + " " + relayToken}, auths)
	assert.Len(t, mails, 2)
}

// (b) XOAUTH2 with the token printed by a command, run at the send; a
// failing command is a configuration error that shows neither its
// arguments nor its output.
func TestEmailAuthXOAuth2TokenFromCommand(t *testing.T) {
	r := startRelay(t, &testRelay{mode: "starttls", mechs: []string{"XOAUTH2"}})
	t.Setenv("T_TOKEN", relayToken)
	ch := mailChannel(t, r, `, auth: xoauth2, username: `+relayUser+`, oauth2_token: {command: [sh, -c, 'printf "%s\n" "$T_TOKEN"']}`)
	require.NoError(t, send(ch, "d-cmd"))
	auths, mails := r.seen()
	assert.Equal(t, []string{"XOAUTH2 " + relayUser + " " + relayToken}, auths)
	assert.Len(t, mails, 1)

	ch = mailChannel(t, r, `, username: `+relayUser+`, oauth2_token: {command: [sh, -c, 'echo arg-secret >/dev/null; echo out-secret; echo err-secret >&2; exit 3']}`)
	se := sendError(t, send(ch, "d-cmd-fails"))
	assert.Equal(t, ClassConfig, se.Class, se.Msg)
	assert.Contains(t, se.Msg, "smtp.oauth2_token command sh failed: exit status 3")
	for _, secret := range []string{"arg-secret", "out-secret", "err-secret"} {
		assert.NotContains(t, se.Msg, secret)
	}
	auths, _ = r.seen()
	assert.Len(t, auths, 1, "nothing was sent to the relay")
}

// (c) PLAIN still works, the password given as {env: NAME}.
func TestEmailAuthPlainOnlyRelay(t *testing.T) {
	r := startRelay(t, &testRelay{mode: "starttls", mechs: []string{sasl.Plain}})
	t.Setenv("T_SMTP_PASSWORD", relayPassword)
	ch := mailChannel(t, r, `, username: `+relayUser+`, password: {env: T_SMTP_PASSWORD}`)
	require.NoError(t, send(ch, "d-plain"))
	auths, mails := r.seen()
	assert.Equal(t, []string{"PLAIN " + relayUser + " " + relayPassword}, auths)
	assert.Len(t, mails, 1)
}

// auto takes XOAUTH2 when a token is configured, else PLAIN, else LOGIN,
// among what the relay offers.
func TestEmailAuthAutoPicksTheStrongestOffered(t *testing.T) {
	t.Setenv("T_SMTP_PASSWORD", relayPassword)
	t.Setenv("T_TOKEN", relayToken)
	for _, tc := range []struct {
		offered    []string
		withToken  bool
		wantMech   string
		wantSecret string
	}{
		{[]string{sasl.Login, sasl.Plain}, false, "PLAIN", relayPassword},
		{[]string{sasl.Login, sasl.Plain, "XOAUTH2"}, true, "XOAUTH2", relayToken},
		{[]string{"XOAUTH2", sasl.Plain}, false, "PLAIN", relayPassword},
		{[]string{sasl.Login, sasl.Plain}, true, "PLAIN", relayPassword},
		{[]string{"CRAM-MD5", sasl.Login}, true, "LOGIN", relayPassword},
	} {
		t.Run(strings.Join(tc.offered, "_")+fmt.Sprint(tc.withToken), func(t *testing.T) {
			r := startRelay(t, &testRelay{mode: "starttls", mechs: tc.offered})
			fields := `, username: ` + relayUser + `, password: env:T_SMTP_PASSWORD`
			if tc.withToken {
				fields += `, oauth2_token: env:T_TOKEN`
			}
			require.NoError(t, send(mailChannel(t, r, fields), "d-auto"))
			auths, _ := r.seen()
			assert.Equal(t, []string{tc.wantMech + " " + relayUser + " " + tc.wantSecret}, auths)
		})
	}
}

// (d) A refused credential is final, and its error holds no secret.
func TestEmailWrongCredentialIsRejectedWithoutTheSecret(t *testing.T) {
	for _, tc := range []struct{ mech, fields, secret, want string }{
		{sasl.Plain, `, password: env:T_WRONG`, "wrong-Pw-8u2", "AUTH PLAIN: 535"},
		{sasl.Login, `, password: env:T_WRONG`, "wrong-Pw-8u2", "AUTH LOGIN: 535"},
		{"XOAUTH2", `, oauth2_token: env:T_WRONG`, "ya29.wrong-token", "AUTH XOAUTH2: 535 token refused, status 401"},
	} {
		t.Run(tc.mech, func(t *testing.T) {
			r := startRelay(t, &testRelay{mode: "starttls", mechs: []string{tc.mech}})
			t.Setenv("T_WRONG", tc.secret)
			se := sendError(t, send(mailChannel(t, r, `, username: `+relayUser+tc.fields), "d-wrong"))
			assert.Equal(t, ClassRejected, se.Class, se.Msg)
			assert.False(t, se.Retryable())
			assert.Contains(t, se.Msg, tc.want)
			assert.NotContains(t, se.Msg, tc.secret)
			assert.NotContains(t, se.Msg, "wrong")
			auths, mails := r.seen()
			assert.Equal(t, []string{tc.mech + " " + relayUser + " " + tc.secret}, auths, "the relay checked what was configured")
			assert.Empty(t, mails)
		})
	}
}

// A relay offering none of the mechanisms the channel can use refuses it
// for good, naming what it offers.
func TestEmailRelayOfferingNoUsableMechanism(t *testing.T) {
	t.Setenv("T_SMTP_PASSWORD", relayPassword)
	for _, tc := range []struct {
		offered []string
		fields  string
		want    string
	}{
		{[]string{"CRAM-MD5"}, ``, "the relay offers AUTH CRAM-MD5; smtp.auth auto can use PLAIN or LOGIN"},
		{[]string{sasl.Plain}, `, auth: login`, "the relay offers AUTH PLAIN; smtp.auth login can use LOGIN"},
		{[]string{"XOAUTH2"}, ``, "the relay offers AUTH XOAUTH2; smtp.auth auto can use PLAIN or LOGIN"},
		{nil, ``, "the relay offers no AUTH mechanism"},
	} {
		t.Run(strings.Join(tc.offered, "_"), func(t *testing.T) {
			r := startRelay(t, &testRelay{mode: "starttls", mechs: tc.offered})
			se := sendError(t, send(mailChannel(t, r, `, username: `+relayUser+`, password: env:T_SMTP_PASSWORD`+tc.fields), "d"))
			assert.Equal(t, ClassRejected, se.Class, se.Msg)
			assert.Contains(t, se.Msg, tc.want)
			assert.NotContains(t, se.Msg, relayPassword)
		})
	}
}

// (e) Credentials need TLS; smtp.auth and the secret sources are checked
// when the routes file is loaded.
func TestEmailConfigErrors(t *testing.T) {
	plain := &testRelay{mode: "none", port: 25}
	secure := &testRelay{mode: "starttls", port: 587}
	for name, tc := range map[string]struct {
		r            *testRelay
		fields, want string
	}{
		"username, tls none":    {plain, `, username: u, password: env:P`, `channels.mail: smtp.username is set with smtp.tls none, which would send credentials in clear: use smtp.tls starttls or tls`},
		"token, tls none":       {plain, `, oauth2_token: env:T`, `channels.mail: smtp.oauth2_token is set with smtp.tls none`},
		"unknown auth":          {secure, `, auth: cram-md5, username: u, password: env:P`, `channels.mail: smtp.auth "cram-md5" is not allowed: use auto, plain, login, xoauth2`},
		"literal token":         {secure, `, username: u, oauth2_token: s3cr3t`, `smtp.oauth2_token must be a reference`},
		"literal password":      {secure, `, username: u, password: s3cr3t`, `smtp.password must be a reference`},
		"xoauth2 without":       {secure, `, auth: xoauth2, username: u, password: env:P`, `smtp.auth xoauth2 needs smtp.username and smtp.oauth2_token`},
		"login without":         {secure, `, auth: login, username: u, oauth2_token: env:T`, `smtp.auth login needs smtp.username and smtp.password`},
		"no username":           {secure, `, password: env:P`, `smtp.username is not set`},
		"username alone":        {secure, `, username: u`, `smtp.username is set without smtp.password or smtp.oauth2_token`},
		"unknown source":        {secure, `, username: u, password: {vault: s3cr3t}`, `"vault" is not a secret source`},
		"two sources":           {secure, `, username: u, password: {env: P, file: /x}`, `a secret takes one key`},
		"command not a list":    {secure, `, username: u, password: {command: s3cr3t}`, `command needs a list`},
		"command of no program": {secure, `, username: u, password: {command: []}`, `command needs a list`},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Parse([]byte(mailRoutes(tc.r, tc.fields)))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			assert.NotContains(t, err.Error(), "s3cr3t")
		})
	}
	c, err := Parse([]byte(mailRoutes(plain, ``)))
	require.NoError(t, err, "tls none without credentials: a local relay")
	assert.Equal(t, AuthAuto, c.Channels["mail"].SMTP.Auth)
}

// (f) Headers: Auto-Submitted, RFC 2047 display names, and the same
// Message-ID on every attempt of a message.
func TestEmailHeaders(t *testing.T) {
	r := startRelay(t, &testRelay{mode: "none"})
	c, err := Parse([]byte(strings.Replace(mailRoutes(r, ``),
		`from: "expiry-sync <noreply@example.com>", to: [ops@example.com]`,
		`from: "过期提醒 <noreply@example.com>", to: ["Zoë Ops <ops@example.com>", dev@example.com]`, 1)))
	require.NoError(t, err)
	ch := c.Channels["mail"]
	require.NoError(t, send(ch, "d-42"))
	require.NoError(t, send(ch, "d-42"), "the same message again, as a retry sends it")
	_, mails := r.seen()
	require.Len(t, mails, 2)
	var ids []string
	for _, raw := range mails {
		head, _, ok := bytes.Cut(raw, []byte("\r\n\r\n"))
		require.True(t, ok)
		for _, b := range head {
			require.Less(t, b, byte(0x80), "headers are ASCII: %s", head)
		}
		msg, err := mail.ReadMessage(bytes.NewReader(raw))
		require.NoError(t, err)
		assert.Equal(t, "auto-generated", msg.Header.Get("Auto-Submitted"))
		from, err := msg.Header.AddressList("From")
		require.NoError(t, err)
		assert.Equal(t, []*mail.Address{{Name: "过期提醒", Address: "noreply@example.com"}}, from)
		to, err := msg.Header.AddressList("To")
		require.NoError(t, err)
		assert.Equal(t, []*mail.Address{{Name: "Zoë Ops", Address: "ops@example.com"}, {Address: "dev@example.com"}}, to)
		ids = append(ids, msg.Header.Get("Message-ID"))
	}
	assert.Equal(t, []string{"<d-42@expiry-sync>", "<d-42@expiry-sync>"}, ids)
}

// The relay's replies and silences are classified as before: 4xx retried,
// 5xx final, STARTTLS required, the certificate verified, and no answer
// after the final dot uncertain.
func TestEmailFailureClasses(t *testing.T) {
	t.Run("4xx", func(t *testing.T) {
		r := startRelay(t, &testRelay{mode: "none", rcptReply: &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try later"}})
		se := sendError(t, send(mailChannel(t, r, ``), "d"))
		assert.Equal(t, ClassUnavailable, se.Class, se.Msg)
		assert.Contains(t, se.Msg, "RCPT TO: 451 try later")
	})
	t.Run("5xx", func(t *testing.T) {
		r := startRelay(t, &testRelay{mode: "none", rcptReply: &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}})
		se := sendError(t, send(mailChannel(t, r, ``), "d"))
		assert.Equal(t, ClassRejected, se.Class, se.Msg)
	})
	t.Run("no STARTTLS", func(t *testing.T) {
		r := startRelay(t, &testRelay{mode: "none"})
		se := sendError(t, send(mailChannel(t, &testRelay{mode: "starttls", port: r.port}, ``), "d"))
		assert.Equal(t, ClassRejected, se.Class, se.Msg)
		assert.Contains(t, se.Msg, "the relay does not offer STARTTLS")
	})
	for _, mode := range []string{"starttls", "tls"} {
		t.Run("untrusted "+mode, func(t *testing.T) {
			r := startRelay(t, &testRelay{mode: mode})
			r.caFile = "" // the system's roots do not know the test CA
			se := sendError(t, send(mailChannel(t, r, ``), "d"))
			assert.Equal(t, ClassRejected, se.Class, se.Msg)
			assert.Contains(t, se.Msg, "certificate is not trusted")
		})
	}
	t.Run("no answer after the dot", func(t *testing.T) {
		r := startRelay(t, &testRelay{mode: "none", holdData: make(chan struct{})})
		c, err := Parse([]byte(strings.Replace(mailRoutes(r, ``), "timeout: 5s", "timeout: 1s", 1)))
		require.NoError(t, err)
		se := sendError(t, send(c.Channels["mail"], "d"))
		assert.Equal(t, ClassUncertain, se.Class, se.Msg)
		assert.Contains(t, se.Msg, "no answer after the mail was sent")
	})
}

func TestCredentialResolveRefusesWhatCannotBeSent(t *testing.T) {
	dir := t.TempDir()
	for name, tc := range map[string]struct{ content, want string }{
		"empty":     {"\n", "gave an empty value"},
		"two lines": {"s3cr3t\nmore", "more than one line"},
	} {
		t.Run(name, func(t *testing.T) {
			file := filepath.Join(dir, name)
			require.NoError(t, os.WriteFile(file, []byte(tc.content), 0o600))
			_, err := Credential{Ref: Ref("file:" + file)}.Resolve(context.Background(), time.Second)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			assert.NotContains(t, err.Error(), "s3cr3t")
		})
	}
	_, err := Credential{Command: []string{"sleep", "5"}}.Resolve(context.Background(), 100*time.Millisecond)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "command sleep: no value within 100ms")
}
