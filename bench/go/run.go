package main

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// runResult is what bench/measure.ts's Measurement is made of, for one measured window.
type runResult struct {
	Ops       int64   `json:"ops"`
	Errors    int64   `json:"errors"`
	ElapsedMs float64 `json:"elapsedMs"`
	CPUUs     int64   `json:"cpuUs"`
	P50Us     float64 `json:"p50Us"`
}

// operation builds the call of one request; i is the running index of the window (keys vary with it).
func (b *bench) operation(req request) (func(ctx context.Context, i int64) error, error) {
	kv := b.client.KV
	value := req.Value
	switch req.Op {
	case "put":
		if req.Spread <= 0 {
			return nil, fmt.Errorf("put needs spread > 0, got %d", req.Spread)
		}
		return func(ctx context.Context, i int64) error {
			_, err := kv.Put(ctx, fmt.Sprintf("%s%d", req.KeyPrefix, i%int64(req.Spread)), value)
			return err
		}, nil
	case "range":
		return func(ctx context.Context, _ int64) error {
			_, err := kv.Get(ctx, req.Key)
			return err
		}, nil
	case "txn":
		if len(req.Keys) == 0 {
			return nil, fmt.Errorf("txn needs keys")
		}
		return func(ctx context.Context, _ int64) error {
			puts := make([]clientv3.Op, len(req.Keys))
			for k, key := range req.Keys {
				puts[k] = clientv3.OpPut(key, value)
			}
			_, err := kv.Txn(ctx).
				If(clientv3.Compare(clientv3.Version(req.Keys[0]), "<", 1_000_000_000)).
				Then(puts...).
				Commit()
			return err
		}, nil
	default:
		return nil, fmt.Errorf("unknown op %q (put, range, txn)", req.Op)
	}
}

// run is one round: warm-up, then the measured window, as bench/measure.ts's measure() does.
func (b *bench) run(req request) (any, error) {
	if req.Concurrency <= 0 || req.DurationMs <= 0 {
		return nil, fmt.Errorf("run needs concurrency and durationMs > 0")
	}
	op, err := b.operation(req)
	if err != nil {
		return nil, err
	}
	runFor(op, req.Concurrency, time.Duration(req.WarmupMs)*time.Millisecond, false)
	cpu0 := cpuUs()
	t0 := time.Now()
	ops, errors, latencies := runFor(op, req.Concurrency, time.Duration(req.DurationMs)*time.Millisecond, true)
	elapsed := time.Since(t0)
	cpu := cpuUs() - cpu0
	return runResult{
		Ops:       ops,
		Errors:    errors,
		ElapsedMs: float64(elapsed.Microseconds()) / 1000,
		CPUUs:     cpu,
		P50Us:     median(latencies),
	}, nil
}

// runFor keeps concurrency calls in flight until the window ends; with record, it also returns each
// successful call's latency (µs).
func runFor(op func(ctx context.Context, i int64) error, concurrency int, window time.Duration, record bool) (int64, int64, []float64) {
	deadline := time.Now().Add(window)
	var next, ops, errors atomic.Int64
	perWorker := make([][]float64, concurrency)
	var wg sync.WaitGroup
	for w := 0; w < concurrency; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for time.Now().Before(deadline) {
				ctx, cancel := withTimeout()
				start := time.Now()
				err := op(ctx, next.Add(1)-1)
				took := time.Since(start)
				cancel()
				if err != nil {
					errors.Add(1)
					continue
				}
				ops.Add(1)
				if record {
					perWorker[w] = append(perWorker[w], float64(took.Nanoseconds())/1000)
				}
			}
		}(w)
	}
	wg.Wait()
	return ops.Load(), errors.Load(), slices.Concat(perWorker...)
}

// median of the latencies (0 when there are none).
func median(latencies []float64) float64 {
	if len(latencies) == 0 {
		return 0
	}
	slices.Sort(latencies)
	return latencies[(len(latencies)-1)/2]
}

// cpuUs is this process's CPU time so far (user + system), µs: what process.cpuUsage() gives Node.
func cpuUs() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano()/1000 + ru.Stime.Nano()/1000
}
