package main

import (
	"context"
	"errors"

	"go.etcd.io/etcd/client/v3/concurrency"
)

// observeUntil is Election.Observe on req.Name, read until a value equal to req.Value arrives: it
// answers {"seen":[{"key","value"},...]} with every proclamation observed, in order (the current
// leader's first). It checks that Go's observer follows what etcd's Election service writes.
func (s *service) observeUntil(ctx context.Context, req request) (any, error) {
	session, err := s.newSession(req)
	if err != nil {
		return nil, err
	}
	defer session.Close()
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	seen := []map[string]any{}
	for resp := range concurrency.NewElection(session, req.Name).Observe(cctx) {
		kv := resp.Kvs[0]
		seen = append(seen, map[string]any{"key": string(kv.Key), "value": string(kv.Value)})
		if string(kv.Value) == req.Value {
			return map[string]any{"seen": seen}, nil
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return nil, errors.New("the observation ended before the value arrived")
}
