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
	"os"

	"etcdts.test/goline"
)

func main() {
	s := newService(goline.Connect("interop"), goline.NewOutput(os.Stdout))
	s.out.Ready()
	s.serve(os.Stdin)
	s.close()
}
