// Package goline is what the project's Go programs on etcd's Go client (test/interop/go, the interop
// service; bench/go, the benchmark's client) share: the command line that makes their client, and the
// framing test/interop/go-program.ts drives them with: a ready line naming the client's version, one JSON
// request per line on stdin, one JSON answer per line on stdout.
package goline

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// Connect reads -endpoints (required), -user and -password from the command line and makes the client;
// it exits with a message naming program when the flags are wrong or the client cannot be made.
func Connect(program string) *clientv3.Client {
	endpoints := flag.String("endpoints", "", "comma-separated etcd client URLs")
	user := flag.String("user", "", "etcd user name (auth on)")
	password := flag.String("password", "", "etcd password")
	flag.Parse()
	if *endpoints == "" {
		fmt.Fprintf(os.Stderr, "%s: -endpoints is required\n", program)
		os.Exit(2)
	}
	client, err := clientv3.New(clientv3.Config{
		Endpoints:   strings.Split(*endpoints, ","),
		Username:    *user,
		Password:    *password,
		DialTimeout: 10 * time.Second,
		// Silent: the tests and the benchmark read stderr only when something fails.
		Logger: zap.NewNop(),
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", program, err)
		os.Exit(1)
	}
	return client
}

// Output writes JSON lines; one line at a time whatever the goroutine.
type Output struct {
	mu  sync.Mutex
	enc *json.Encoder
}

// NewOutput writes to w.
func NewOutput(w io.Writer) *Output { return &Output{enc: json.NewEncoder(w)} }

// Write writes v as one line.
func (o *Output) Write(v any) {
	o.mu.Lock()
	defer o.mu.Unlock()
	_ = o.enc.Encode(v)
}

// Ready writes the line the driver waits for before its first request: the client's version.
func (o *Output) Ready() {
	o.Write(map[string]any{"ready": true, "goClient": ClientVersion()})
}

// Answer writes the answer to request id: {"id","ok":true,"result"} or {"id","ok":false,"error"}.
func (o *Output) Answer(id string, result any, err error) {
	if err != nil {
		o.Write(map[string]any{"id": id, "ok": false, "error": err.Error()})
		return
	}
	o.Write(map[string]any{"id": id, "ok": true, "result": result})
}

// Serve reads one request a line from in until it closes, decoding each into an R for handle, in order
// (handle starts a goroutine of its own for requests that may run together). A line that is not an R
// is answered with an error line without an id.
func Serve[R any](in io.Reader, out *Output, handle func(R)) {
	scanner := bufio.NewScanner(in)
	scanner.Buffer(make([]byte, 1<<20), 16<<20)
	for scanner.Scan() {
		var req R
		if err := json.Unmarshal(scanner.Bytes(), &req); err != nil {
			out.Write(map[string]any{"ok": false, "error": fmt.Sprintf("bad request line: %v", err)})
			continue
		}
		handle(req)
	}
}

// ClientVersion is the version of go.etcd.io/etcd/client/v3 the binary was built with.
func ClientVersion() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	for _, dep := range info.Deps {
		if dep.Path == "go.etcd.io/etcd/client/v3" {
			return dep.Version
		}
	}
	return "unknown"
}
