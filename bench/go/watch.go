package main

import (
	"context"
	"fmt"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// trickleWatch is the watch of a trickle: it counts events and responses until told to stop.
type trickleWatch struct {
	cancel    context.CancelFunc
	cpu0      int64
	t0        time.Time
	events    chan int // each response's event count
	done      chan struct{}
	endReason error
}

// putTrickle writes count keys one at a time: each put is its own revision, so a watcher that keeps up
// gets one event per response.
func (b *bench) putTrickle(req request) (any, error) {
	for i := 0; i < req.Count; i++ {
		ctx, cancel := withTimeout()
		_, err := b.client.Put(ctx, fmt.Sprintf("%s%d", req.KeyPrefix, i), "x")
		cancel()
		if err != nil {
			return nil, fmt.Errorf("put %d of %d: %w", i+1, req.Count, err)
		}
	}
	return map[string]any{"puts": req.Count}, nil
}

func (b *bench) watchStart(req request) (any, error) {
	if b.watch != nil {
		return nil, fmt.Errorf("a watch is already running")
	}
	ctx, cancel := context.WithCancel(context.Background())
	ch := b.client.Watch(ctx, req.KeyPrefix, clientv3.WithPrefix(), clientv3.WithCreatedNotify())
	select {
	case resp, ok := <-ch:
		if !ok || !resp.Created {
			cancel()
			return nil, fmt.Errorf("watch on %q not created: %v", req.KeyPrefix, resp.Err())
		}
	case <-time.After(opTimeout):
		cancel()
		return nil, fmt.Errorf("watch on %q not created within %v", req.KeyPrefix, opTimeout)
	}
	w := &trickleWatch{cancel: cancel, events: make(chan int, 1024), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		for resp := range ch {
			if err := resp.Err(); err != nil {
				w.endReason = err
				return
			}
			if len(resp.Events) > 0 {
				w.events <- len(resp.Events)
			}
		}
	}()
	w.cpu0 = cpuUs()
	w.t0 = time.Now()
	b.watch = w
	return map[string]any{}, nil
}

func (b *bench) watchWait(req request) (any, error) {
	w := b.watch
	if w == nil {
		return nil, fmt.Errorf("no watch: watch-start first")
	}
	defer b.stopWatch()
	timeout := time.After(time.Duration(req.TimeoutMs) * time.Millisecond)
	events, responses := 0, 0
	for events < req.Count {
		select {
		case n := <-w.events:
			events += n
			responses++
		case <-w.done:
			return nil, fmt.Errorf("watch ended after %d of %d events: %v", events, req.Count, w.endReason)
		case <-timeout:
			return nil, fmt.Errorf("%d of %d events within %d ms", events, req.Count, req.TimeoutMs)
		}
	}
	cpu := cpuUs() - w.cpu0
	return map[string]any{
		"events":    events,
		"responses": responses,
		"cpuUs":     cpu,
		"elapsedMs": float64(time.Since(w.t0).Microseconds()) / 1000,
	}, nil
}

func (b *bench) stopWatch() {
	if b.watch != nil {
		b.watch.cancel()
		b.watch = nil
	}
}
