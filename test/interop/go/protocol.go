package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sync"
	"time"

	"etcdts.test/goline"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// request is one line on stdin: {"id":"r1","cmd":"put","key":"k","value":"v"}. Only the fields a
// command needs are set. timeoutMs bounds the command (default 20 s; lock, campaign: no bound, cancel
// them with {"cmd":"cancel","target":"<id>"}).
type request struct {
	ID        string          `json:"id"`
	Cmd       string          `json:"cmd"`
	Key       string          `json:"key"`
	Value     string          `json:"value"`
	Prefix    bool            `json:"prefix"`
	Namespace string          `json:"namespace"`
	Rev       int64           `json:"rev"`
	Watch     string          `json:"watch"`
	Service   string          `json:"service"`
	Addr      string          `json:"addr"`
	Metadata  json.RawMessage `json:"metadata"`
	TTL       int             `json:"ttl"`
	Name      string          `json:"name"`
	Handle    string          `json:"handle"`
	Target    string          `json:"target"`
	TimeoutMs int             `json:"timeoutMs"`
}

// service holds the client and what the requests opened: sessions with their mutexes and elections,
// watches, kept-alive leases, gRPC channels.
type service struct {
	client *clientv3.Client
	out    *goline.Output
	ctx    context.Context
	stop   context.CancelFunc

	mu       sync.Mutex
	inFlight map[string]context.CancelFunc // request id -> cancel
	holders  map[string]*holder            // handle -> a lock or a candidacy
	watches  map[string]context.CancelFunc // watch id -> cancel
	leases   map[string]clientv3.LeaseID   // endpoint key -> its lease
	channels map[string]*greeterChannel    // service -> channel through etcd:///service
	wg       sync.WaitGroup
}

func newService(client *clientv3.Client, out *goline.Output) *service {
	ctx, stop := context.WithCancel(context.Background())
	return &service{
		client: client, out: out, ctx: ctx, stop: stop,
		inFlight: map[string]context.CancelFunc{},
		holders:  map[string]*holder{},
		watches:  map[string]context.CancelFunc{},
		leases:   map[string]clientv3.LeaseID{},
		channels: map[string]*greeterChannel{},
	}
}

// serve reads requests until stdin closes; each runs on its own goroutine.
func (s *service) serve(in io.Reader) {
	goline.Serve(in, s.out, func(req request) {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.run(req)
		}()
	})
}

func (s *service) run(req request) {
	ctx, cancel := s.requestContext(req)
	defer cancel()
	s.mu.Lock()
	s.inFlight[req.ID] = cancel
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.inFlight, req.ID)
		s.mu.Unlock()
	}()

	result, err := s.dispatch(ctx, req)
	s.out.Answer(req.ID, result, err)
}

func (s *service) requestContext(req request) (context.Context, context.CancelFunc) {
	timeout := 20 * time.Second
	if req.TimeoutMs > 0 {
		timeout = time.Duration(req.TimeoutMs) * time.Millisecond
	} else if req.Cmd == "lock" || req.Cmd == "campaign" {
		return context.WithCancel(s.ctx)
	}
	return context.WithTimeout(s.ctx, timeout)
}

func (s *service) dispatch(ctx context.Context, req request) (any, error) {
	switch req.Cmd {
	case "put":
		return s.put(ctx, req)
	case "get":
		return s.get(ctx, req)
	case "delete":
		return s.delete(ctx, req)
	case "watch":
		return s.watch(ctx, req)
	case "cancel-watch":
		return s.cancelWatch(req)
	case "add-endpoint":
		return s.addEndpoint(ctx, req)
	case "delete-endpoint":
		return s.deleteEndpoint(ctx, req)
	case "list-endpoints":
		return s.listEndpoints(ctx, req)
	case "call":
		return s.call(ctx, req)
	case "close-channels":
		return s.closeChannels()
	case "lock":
		return s.lock(ctx, req)
	case "try-lock":
		return s.tryLock(ctx, req)
	case "unlock":
		return s.unlock(ctx, req)
	case "campaign":
		return s.campaign(ctx, req)
	case "resign":
		return s.resign(ctx, req)
	case "leader":
		return s.leader(ctx, req)
	case "observe-until":
		return s.observeUntil(ctx, req)
	case "cancel":
		s.mu.Lock()
		cancel, ok := s.inFlight[req.Target]
		s.mu.Unlock()
		if ok {
			cancel()
		}
		return map[string]any{"canceled": ok}, nil
	default:
		if command, ok := recipeCommands[req.Cmd]; ok {
			return command(s, ctx, req)
		}
		if command, ok := leasingCommands[req.Cmd]; ok {
			return command(s, ctx, req)
		}
		return nil, fmt.Errorf("unknown command %q", req.Cmd)
	}
}

// close cancels what is in flight and ends watches, then revokes sessions and leases and closes the
// channels and the client.
func (s *service) close() {
	s.stop()
	s.wg.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, h := range s.holders {
		_ = h.session.Close()
	}
	for _, lease := range s.leases {
		_, _ = s.client.Revoke(ctx, lease)
	}
	for _, ch := range s.channels {
		_ = ch.conn.Close()
	}
	_ = s.client.Close()
}
