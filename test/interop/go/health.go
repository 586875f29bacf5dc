package main

import (
	"context"
	"fmt"
	"net"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// The commands of this file: grpc-go servers with grpc-go's standard health service
// (google.golang.org/grpc/health), whose status etcd-ts' active health checks read. They join
// recipeCommands (found by dispatch's default case) at init, so the dispatcher needs no edit.
func init() {
	recipeCommands["health-serve"] = (*service).healthServe
	recipeCommands["health-set"] = (*service).healthSet
	recipeCommands["health-stop"] = (*service).healthStop
}

// healthServer is one grpc-go server started by health-serve.
type healthServer struct {
	addr   string
	server *grpc.Server
	health *health.Server
}

var (
	healthServersMu sync.Mutex
	healthServers   = map[string]*healthServer{} // handle -> server
)

// greeterDesc is helloworld.Greeter/SayHello answering the server's own address. HelloRequest and
// HelloReply are each a single string field 1, the wire form of google.protobuf.StringValue.
var greeterDesc = grpc.ServiceDesc{
	ServiceName: "helloworld.Greeter",
	HandlerType: (*any)(nil),
	Methods: []grpc.MethodDesc{{
		MethodName: "SayHello",
		Handler: func(srv any, _ context.Context, dec func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
			if err := dec(&wrapperspb.StringValue{}); err != nil {
				return nil, err
			}
			return wrapperspb.String(srv.(*healthServer).addr), nil
		},
	}},
}

// healthServe starts a grpc-go server on req.Addr under req.Handle, serving Greeter (answering its
// address) and grpc-go's health.Server (Check, List, Watch), with "" SERVING (health.NewServer's start).
func (s *service) healthServe(_ context.Context, req request) (any, error) {
	lis, err := net.Listen("tcp", req.Addr)
	if err != nil {
		return nil, err
	}
	hs := &healthServer{addr: req.Addr, server: grpc.NewServer(), health: health.NewServer()}
	hs.server.RegisterService(&greeterDesc, hs)
	healthpb.RegisterHealthServer(hs.server, hs.health)
	healthServersMu.Lock()
	if _, dup := healthServers[req.Handle]; dup || req.Handle == "" {
		healthServersMu.Unlock()
		_ = lis.Close()
		return nil, fmt.Errorf("handle %q empty or in use", req.Handle)
	}
	healthServers[req.Handle] = hs
	healthServersMu.Unlock()
	go func() { _ = hs.server.Serve(lis) }()
	return map[string]any{"addr": req.Addr}, nil
}

// healthSet is health.Server.SetServingStatus(req.Service, req.Value) on req.Handle's server; req.Value
// is a ServingStatus name (SERVING, NOT_SERVING). "shutdown" is health.Server.Shutdown().
func (s *service) healthSet(_ context.Context, req request) (any, error) {
	healthServersMu.Lock()
	hs := healthServers[req.Handle]
	healthServersMu.Unlock()
	if hs == nil {
		return nil, fmt.Errorf("no health server under %q", req.Handle)
	}
	if req.Value == "shutdown" {
		hs.health.Shutdown()
		return map[string]any{}, nil
	}
	status, ok := healthpb.HealthCheckResponse_ServingStatus_value[req.Value]
	if !ok {
		return nil, fmt.Errorf("unknown status %q", req.Value)
	}
	hs.health.SetServingStatus(req.Service, healthpb.HealthCheckResponse_ServingStatus(status))
	return map[string]any{}, nil
}

// healthStop stops req.Handle's server at once (open Watch streams end).
func (s *service) healthStop(_ context.Context, req request) (any, error) {
	healthServersMu.Lock()
	hs := healthServers[req.Handle]
	delete(healthServers, req.Handle)
	healthServersMu.Unlock()
	if hs == nil {
		return nil, fmt.Errorf("no health server under %q", req.Handle)
	}
	hs.server.Stop()
	return map[string]any{}, nil
}
