// Command interop is a Go service built on etcd's own Go client (go.etcd.io/etcd/client/v3), driven by
// etcd-ts's interop tests (test/interop) to prove that Go and etcd-ts programs sharing one etcd see each
// other's registrations, locks, leaders, namespaced keys and watch events.
//
// Usage: interop -endpoints http://127.0.0.1:2379[,...] [-user name -password secret]
//
// It reads one JSON request per line on stdin and writes one JSON line per answer or watch event on
// stdout (the protocol is in protocol.go). Requests run concurrently, so a blocked Lock or Campaign does
// not hold up the next request. It exits when stdin closes, after closing what it holds.
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

func main() {
	endpoints := flag.String("endpoints", "", "comma-separated etcd client URLs")
	user := flag.String("user", "", "etcd user name (auth on)")
	password := flag.String("password", "", "etcd password")
	flag.Parse()
	if *endpoints == "" {
		fmt.Fprintln(os.Stderr, "interop: -endpoints is required")
		os.Exit(2)
	}
	client, err := clientv3.New(clientv3.Config{
		Endpoints:   strings.Split(*endpoints, ","),
		Username:    *user,
		Password:    *password,
		DialTimeout: 10 * time.Second,
		// Warnings only: the tests read stderr when something fails.
		Logger: zap.NewNop(),
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "interop: %v\n", err)
		os.Exit(1)
	}
	s := newService(client, newOutput(os.Stdout))
	s.out.write(map[string]any{"ready": true, "goClient": clientVersion()})
	s.serve(os.Stdin)
	s.close()
}
