package hwsim

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync"
	"time"
)

// shutdownGrace bounds how long Close waits for in-flight requests (a slow
// or delayed request can otherwise hold shutdown for SlowDelay).
const shutdownGrace = 5 * time.Second

// Server is a running simulator HTTP server.
type Server struct {
	// URL is the base URL to give the SDK, e.g. http://127.0.0.1:8090.
	URL string

	srv        *http.Server
	cancelBase context.CancelFunc
	done       chan struct{}
	closeOnce  sync.Once
	err        error
}

// Start listens on addr (port 0 picks a free one) and serves in the
// background until ctx ends or Close is called.
func (s *Simulator) Start(ctx context.Context, addr string) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	base, cancelBase := context.WithCancel(context.Background())
	sv := &Server{
		URL: "http://" + ln.Addr().String(),
		srv: &http.Server{
			Handler:           s.Handler(),
			ReadHeaderTimeout: 10 * time.Second,
			IdleTimeout:       2 * time.Minute,
			BaseContext:       func(net.Listener) context.Context { return base },
		},
		cancelBase: cancelBase,
		done:       make(chan struct{}),
	}
	go func() {
		defer close(sv.done)
		if err := sv.srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			sv.err = err
		}
	}()
	go func() {
		select {
		case <-ctx.Done():
			_ = sv.Close()
		case <-sv.done:
		}
	}()
	return sv, nil
}

// ListenAndServe starts serving on addr until ctx ends and returns the base
// URL.
func (s *Simulator) ListenAndServe(ctx context.Context, addr string) (string, error) {
	sv, err := s.Start(ctx, addr)
	if err != nil {
		return "", err
	}
	return sv.URL, nil
}

// Close stops accepting connections, lets in-flight requests finish for up
// to a few seconds, then cancels the rest, and waits for the server to stop.
func (sv *Server) Close() error {
	sv.closeOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
		defer cancel()
		if err := sv.srv.Shutdown(ctx); err != nil {
			sv.cancelBase()
			_ = sv.srv.Close()
		}
		sv.cancelBase()
	})
	<-sv.done
	return sv.err
}

// Done is closed once the server has stopped.
func (sv *Server) Done() <-chan struct{} { return sv.done }

// Err is the serving error, nil after a clean shutdown. Valid after Done.
func (sv *Server) Err() error { return sv.err }
