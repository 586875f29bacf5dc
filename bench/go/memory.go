package main

import (
	"context"
	"fmt"
	"runtime"
	"strconv"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc/metadata"
)

// memoryUse is what the Go runtime holds after two GCs: the live heap plus goroutine stacks (grpc-go keeps
// goroutines per connection and per stream), and all it obtained from the OS.
func memoryUse() (live uint64, sys uint64) {
	runtime.GC()
	time.Sleep(300 * time.Millisecond)
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc + m.StackInuse, m.Sys
}

// memory measures bytes per item (bench/memory.ts): op "connections" opens count clients, each made live by
// a Get; "watches" opens count watches on distinct keys on one client (one Watch stream); "streams" opens
// count watches each on a stream of its own (distinct outgoing metadata puts each on its own gRPC stream).
// Every item is kept until the measurement is taken, then released. Run in a fresh process per measurement.
func (b *bench) memory(req request) (any, error) {
	liveBefore, sysBefore := memoryUse()
	var release []func()
	defer func() {
		for _, r := range release {
			r()
		}
	}()
	switch req.Op {
	case "connections":
		for i := 0; i < req.Count; i++ {
			client, err := clientv3.New(clientv3.Config{
				Endpoints:   b.endpoints,
				DialTimeout: 10 * time.Second,
				Logger:      zap.NewNop(),
			})
			if err != nil {
				return nil, err
			}
			release = append(release, func() { _ = client.Close() })
			ctx, cancel := withTimeout()
			_, err = client.Get(ctx, "bm/conn")
			cancel()
			if err != nil {
				return nil, err
			}
		}
	case "watches", "streams":
		ctx, cancel := context.WithCancel(context.Background())
		release = append(release, cancel)
		for i := 0; i < req.Count; i++ {
			watchCtx := ctx
			if req.Op == "streams" {
				watchCtx = metadata.AppendToOutgoingContext(ctx, "bench-stream", strconv.Itoa(i))
			}
			ch := b.client.Watch(watchCtx, fmt.Sprintf("bm/go/%d", i), clientv3.WithCreatedNotify())
			if r := <-ch; !r.Created {
				return nil, fmt.Errorf("watch %d was not created: %v", i, r.Err())
			}
		}
	default:
		return nil, fmt.Errorf("unknown memory op %q", req.Op)
	}
	liveAfter, sysAfter := memoryUse()
	n := float64(req.Count)
	return map[string]any{
		"livePerItem": (float64(liveAfter) - float64(liveBefore)) / n,
		"sysPerItem":  (float64(sysAfter) - float64(sysBefore)) / n,
	}, nil
}
