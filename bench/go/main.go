// Command bench is etcd's Go client (go.etcd.io/etcd/client/v3, grpc-go underneath) as one more client of
// etcd-ts's benchmarks: bench/run.ts and bench/watch.ts drive it round by round, interleaved with the
// TypeScript clients, and it measures itself the way bench/measure.ts measures them (operations, errors,
// p50 latency, and this process's own CPU, user + system, over the measured window only).
//
// Usage: bench -endpoints http://127.0.0.1:2379
//
// It reads one JSON request per line on stdin and writes one JSON line per answer on stdout, the framing of
// test/interop/go, shared with it in test/interop/goline (so test/interop/go-program.ts drives both): {"id":"r1","cmd":"run",...} is answered by
// {"id":"r1","ok":true,"result":{...}} or {"id":"r1","ok":false,"error":"..."}. Requests run one at a time,
// in order: a round must have the process to itself. It exits when stdin closes.
//
// Commands:
//   - run: op "put" (key keyPrefix + i % spread), "range" (key), or "txn" (if version(keys[0]) < 1e9 then put
//     every key), value as given, concurrency calls in flight: warmupMs unmeasured, then durationMs measured.
//     Result: ops, errors, elapsedMs, cpuUs, p50Us.
//   - put-trickle: count puts of keyPrefix + i, one at a time (the writer of a watch trickle). Result: puts.
//   - watch-start: a watch on the prefix keyPrefix, answered once etcd created it; the CPU count starts then.
//   - watch-wait: waits until the watch delivered count events (at most timeoutMs), then cancels it.
//     Result: events, responses, cpuUs (since watch-start), elapsedMs.
//   - memory: op "connections", "watches" or "streams", count items held at once (see memory.go). Result:
//     livePerItem (heap + goroutine stacks) and sysPerItem (memory obtained from the OS), bytes.
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"etcdts.test/goline"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// request is one line on stdin; only the fields a command needs are set.
type request struct {
	ID          string   `json:"id"`
	Cmd         string   `json:"cmd"`
	Op          string   `json:"op"`
	Key         string   `json:"key"`
	KeyPrefix   string   `json:"keyPrefix"`
	Spread      int      `json:"spread"`
	Keys        []string `json:"keys"`
	Value       string   `json:"value"`
	Concurrency int      `json:"concurrency"`
	WarmupMs    int      `json:"warmupMs"`
	DurationMs  int      `json:"durationMs"`
	Count       int      `json:"count"`
	TimeoutMs   int      `json:"timeoutMs"`
}

func main() {
	client := goline.Connect("bench")
	defer client.Close()
	out := goline.NewOutput(os.Stdout)
	out.Ready()
	b := &bench{client: client, endpoints: client.Endpoints()}
	// One request at a time, in the order sent: a round has the process to itself.
	goline.Serve(os.Stdin, out, func(req request) {
		result, err := b.dispatch(req)
		out.Answer(req.ID, result, err)
	})
	b.stopWatch()
}

// bench holds the client and the one watch of a trickle.
type bench struct {
	client    *clientv3.Client
	endpoints []string
	watch     *trickleWatch
}

func (b *bench) dispatch(req request) (any, error) {
	switch req.Cmd {
	case "run":
		return b.run(req)
	case "put-trickle":
		return b.putTrickle(req)
	case "watch-start":
		return b.watchStart(req)
	case "watch-wait":
		return b.watchWait(req)
	case "memory":
		return b.memory(req)
	default:
		return nil, fmt.Errorf("unknown command %q", req.Cmd)
	}
}

// opTimeout bounds one call, so that a stalled server fails a round instead of hanging it.
const opTimeout = 20 * time.Second

func withTimeout() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), opTimeout)
}
