package main

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/naming/endpoints"
	"go.etcd.io/etcd/client/v3/naming/resolver"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// addEndpoint registers req.Addr as req.Key of req.Service the way a Go service does: a lease of
// req.TTL seconds (default 10) kept alive, then Manager.AddEndpoint with WithLease. req.Metadata is
// decoded with encoding/json into Endpoint.Metadata (a JSON object becomes a map, as in any Go program
// that unmarshals it).
func (s *service) addEndpoint(ctx context.Context, req request) (any, error) {
	manager, err := endpoints.NewManager(s.client, req.Service)
	if err != nil {
		return nil, err
	}
	var metadata any
	if len(req.Metadata) > 0 {
		if err := json.Unmarshal(req.Metadata, &metadata); err != nil {
			return nil, fmt.Errorf("metadata: %w", err)
		}
	}
	ttl := int64(req.TTL)
	if ttl <= 0 {
		ttl = 10
	}
	lease, err := s.client.Grant(ctx, ttl)
	if err != nil {
		return nil, err
	}
	// The keepalive lives as long as the program (or until the endpoint is deleted and its lease revoked).
	keep, err := s.client.KeepAlive(s.ctx, lease.ID)
	if err != nil {
		return nil, err
	}
	go func() {
		for range keep {
		}
	}()
	endpoint := endpoints.Endpoint{Addr: req.Addr, Metadata: metadata}
	if err := manager.AddEndpoint(ctx, req.Key, endpoint, clientv3.WithLease(lease.ID)); err != nil {
		_, _ = s.client.Revoke(ctx, lease.ID)
		return nil, err
	}
	s.mu.Lock()
	s.leases[req.Key] = lease.ID
	s.mu.Unlock()
	return map[string]any{"lease": fmt.Sprintf("%x", lease.ID)}, nil
}

// deleteEndpoint is Manager.DeleteEndpoint, then the revoke of the endpoint's lease (a Go service
// shutting down).
func (s *service) deleteEndpoint(ctx context.Context, req request) (any, error) {
	manager, err := endpoints.NewManager(s.client, req.Service)
	if err != nil {
		return nil, err
	}
	if err := manager.DeleteEndpoint(ctx, req.Key); err != nil {
		return nil, err
	}
	s.mu.Lock()
	lease, ok := s.leases[req.Key]
	delete(s.leases, req.Key)
	s.mu.Unlock()
	if ok {
		if _, err := s.client.Revoke(ctx, lease); err != nil {
			return nil, err
		}
	}
	return map[string]any{"key": req.Key}, nil
}

// listEndpoints is Manager.List. For each endpoint it says what Go decoded Metadata into
// (metadataType, e.g. "string" or "map[string]interface {}") and whether that is hashable: grpc-go
// hashes resolver addresses, and Go clients before 3.5.27 / 3.6.8 copied Metadata into them (etcd
// issue 19700: a map there panics).
func (s *service) listEndpoints(ctx context.Context, req request) (any, error) {
	manager, err := endpoints.NewManager(s.client, req.Service)
	if err != nil {
		return nil, err
	}
	eps, err := manager.List(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string]any{}
	for key, ep := range eps {
		kind, hashable := "nil", true
		if ep.Metadata != nil {
			t := reflect.TypeOf(ep.Metadata)
			kind, hashable = t.String(), t.Comparable()
		}
		out[key] = map[string]any{
			"addr":         ep.Addr,
			"metadata":     ep.Metadata,
			"metadataType": kind,
			"hashable":     hashable,
		}
	}
	return map[string]any{"endpoints": out}, nil
}

// greeterChannel is one grpc-go channel to etcd:///<service>, kept for the program's life so the
// resolver follows the service's changes, as a Go client's long-lived connection does.
type greeterChannel struct {
	conn *grpc.ClientConn
}

func (s *service) channel(service string) (*greeterChannel, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ch, ok := s.channels[service]; ok {
		return ch, nil
	}
	builder, err := resolver.NewBuilder(s.client)
	if err != nil {
		return nil, err
	}
	conn, err := grpc.NewClient("etcd:///"+service,
		grpc.WithResolvers(builder),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultServiceConfig(`{"loadBalancingConfig":[{"round_robin":{}}]}`),
	)
	if err != nil {
		return nil, err
	}
	ch := &greeterChannel{conn: conn}
	s.channels[service] = ch
	return ch, nil
}

// closeChannels closes every etcd:/// channel and its connections (a Go client shutting down): servers
// that stop gracefully then have no connection of ours left to wait for, and no channel reconnects.
func (s *service) closeChannels() (any, error) {
	s.mu.Lock()
	channels := s.channels
	s.channels = map[string]*greeterChannel{}
	s.mu.Unlock()
	for _, ch := range channels {
		if err := ch.conn.Close(); err != nil {
			return nil, err
		}
	}
	return map[string]any{"closed": len(channels)}, nil
}

// call sends helloworld.Greeter/SayHello{name: req.Name} through the etcd:/// resolver and returns the
// reply's message. HelloRequest and HelloReply are each a single string field 1, the wire form of
// google.protobuf.StringValue, so the well-known wrapper stands in for generated code.
func (s *service) call(ctx context.Context, req request) (any, error) {
	ch, err := s.channel(req.Service)
	if err != nil {
		return nil, err
	}
	reply := &wrapperspb.StringValue{}
	if err := ch.conn.Invoke(ctx, "/helloworld.Greeter/SayHello", wrapperspb.String(req.Name), reply); err != nil {
		return nil, err
	}
	return map[string]any{"message": reply.GetValue()}, nil
}
