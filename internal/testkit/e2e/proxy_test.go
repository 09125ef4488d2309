package e2e

import (
	"io"
	"net"
	"net/url"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// tcpProxy forwards connections to MariaDB until the test cuts it: then
// every open connection drops and new ones are refused, as when the
// database host goes away.
type tcpProxy struct {
	t      *testing.T
	target string
	addr   string
	mu     sync.Mutex
	ln     net.Listener
	conns  []net.Conn
}

func newTCPProxy(t *testing.T, dbURL string) *tcpProxy {
	u, err := url.Parse(dbURL)
	require.NoError(t, err)
	p := &tcpProxy{t: t, target: u.Host}
	p.listen("127.0.0.1:0")
	t.Cleanup(p.cut)
	return p
}

// url is dbURL pointed at the proxy.
func (p *tcpProxy) url(dbURL string) string {
	u, _ := url.Parse(dbURL)
	u.Host = p.addr
	return u.String()
}

func (p *tcpProxy) listen(addr string) {
	ln, err := net.Listen("tcp", addr)
	require.NoError(p.t, err)
	p.mu.Lock()
	p.ln, p.addr = ln, ln.Addr().String()
	p.mu.Unlock()
	go p.serve(ln)
}

func (p *tcpProxy) serve(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, c, up)
		p.mu.Unlock()
		go func() { _, _ = io.Copy(up, c); up.Close() }()
		go func() { _, _ = io.Copy(c, up); c.Close() }()
	}
}

// cut drops every connection and refuses new ones.
func (p *tcpProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// restore accepts connections again, on the same address.
func (p *tcpProxy) restore() { p.listen(p.addr) }
