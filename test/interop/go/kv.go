package main

import (
	"context"
	"fmt"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/namespace"
)

// kvOf is the client's KV, or namespace.NewKV over it when the request names a namespace: what a Go
// service sharing a keyspace under a prefix uses.
func (s *service) kvOf(req request) clientv3.KV {
	if req.Namespace != "" {
		return namespace.NewKV(s.client.KV, req.Namespace)
	}
	return s.client.KV
}

func (s *service) watcherOf(req request) clientv3.Watcher {
	if req.Namespace != "" {
		return namespace.NewWatcher(s.client.Watcher, req.Namespace)
	}
	return s.client.Watcher
}

func rangeOpts(req request) []clientv3.OpOption {
	if req.Prefix {
		return []clientv3.OpOption{clientv3.WithPrefix()}
	}
	return nil
}

func (s *service) put(ctx context.Context, req request) (any, error) {
	resp, err := s.kvOf(req).Put(ctx, req.Key, req.Value)
	if err != nil {
		return nil, err
	}
	return map[string]any{"revision": resp.Header.Revision}, nil
}

func (s *service) get(ctx context.Context, req request) (any, error) {
	resp, err := s.kvOf(req).Get(ctx, req.Key, rangeOpts(req)...)
	if err != nil {
		return nil, err
	}
	kvs := make([]map[string]any, 0, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		kvs = append(kvs, keyValue(kv))
	}
	return map[string]any{"revision": resp.Header.Revision, "kvs": kvs}, nil
}

func (s *service) delete(ctx context.Context, req request) (any, error) {
	resp, err := s.kvOf(req).Delete(ctx, req.Key, rangeOpts(req)...)
	if err != nil {
		return nil, err
	}
	return map[string]any{"revision": resp.Header.Revision, "deleted": resp.Deleted}, nil
}

func keyValue(kv *mvccpb.KeyValue) map[string]any {
	return map[string]any{
		"key":            string(kv.Key),
		"value":          string(kv.Value),
		"createRevision": kv.CreateRevision,
		"modRevision":    kv.ModRevision,
		"lease":          fmt.Sprintf("%x", kv.Lease),
	}
}

// watch starts watch req.Watch on req.Key (a prefix with req.Prefix) from revision req.Rev, answers
// once etcd created it, and then writes each event as a line
// {"watch":id,"type":"PUT"|"DELETE","key":…,"value":…,"modRevision":…}. A watch that ends on its own
// (canceled by the server, compacted) writes {"watch":id,"end":"<reason>"}.
func (s *service) watch(ctx context.Context, req request) (any, error) {
	if req.Watch == "" {
		return nil, fmt.Errorf("watch: no watch id")
	}
	wctx, cancel := context.WithCancel(s.ctx)
	s.mu.Lock()
	if _, dup := s.watches[req.Watch]; dup {
		s.mu.Unlock()
		cancel()
		return nil, fmt.Errorf("watch %s exists", req.Watch)
	}
	s.watches[req.Watch] = cancel
	s.mu.Unlock()

	opts := append(rangeOpts(req), clientv3.WithRev(req.Rev), clientv3.WithCreatedNotify())
	ch := s.watcherOf(req).Watch(clientv3.WithRequireLeader(wctx), req.Key, opts...)
	select {
	case first, ok := <-ch:
		if !ok || first.Err() != nil || !first.Created {
			s.dropWatch(req.Watch)
			return nil, fmt.Errorf("watch %s not created: %v", req.Watch, first.Err())
		}
		// A created notice carries no events; anything else waits in the channel.
	case <-ctx.Done():
		s.dropWatch(req.Watch)
		return nil, ctx.Err()
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.forward(req.Watch, ch)
	}()
	return map[string]any{"watch": req.Watch}, nil
}

func (s *service) forward(id string, ch clientv3.WatchChan) {
	for resp := range ch {
		if err := resp.Err(); err != nil {
			s.out.Write(map[string]any{"watch": id, "end": err.Error()})
			return
		}
		for _, ev := range resp.Events {
			s.out.Write(map[string]any{
				"watch":          id,
				"type":           ev.Type.String(),
				"key":            string(ev.Kv.Key),
				"value":          string(ev.Kv.Value),
				"modRevision":    ev.Kv.ModRevision,
				"createRevision": ev.Kv.CreateRevision,
			})
		}
	}
}

func (s *service) dropWatch(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if cancel, ok := s.watches[id]; ok {
		cancel()
		delete(s.watches, id)
	}
}

func (s *service) cancelWatch(req request) (any, error) {
	s.dropWatch(req.Watch)
	return map[string]any{"watch": req.Watch}, nil
}
