package main

import (
	"context"
	"errors"
	"fmt"
	"sync"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
	"go.etcd.io/etcd/client/v3/leasing"
)

// Go's client/v3/leasing (leasing.NewKV) for test/interop/go-leasing.test.ts: a leasing KV opened under
// a handle ({"cmd":"leasing-open","handle":"h","name":"<prefix>","ttl":5}), then get, put and delete
// through it, a txn putting a key (leasing-txn-put), and leasing-close. Its reads of keys it owns are served from its memory, so a read that
// sees another client's write proves that client revoked the ownership first.

type leasingKV struct {
	kv    clientv3.KV
	close func()
}

var (
	leasingMu  sync.Mutex
	leasingKVs = map[string]*leasingKV{}
)

// leasingCommands are the commands of this file, found by dispatch's default case.
var leasingCommands = map[string]func(*service, context.Context, request) (any, error){
	"leasing-open": func(s *service, ctx context.Context, req request) (any, error) {
		ttl := req.TTL
		if ttl <= 0 {
			ttl = 10
		}
		kv, closeKV, err := leasing.NewKV(s.client, req.Name, concurrency.WithTTL(ttl))
		if err != nil {
			return nil, err
		}
		leasingMu.Lock()
		defer leasingMu.Unlock()
		if _, dup := leasingKVs[req.Handle]; dup || req.Handle == "" {
			closeKV()
			return nil, fmt.Errorf("bad or used handle %q", req.Handle)
		}
		leasingKVs[req.Handle] = &leasingKV{kv: kv, close: closeKV}
		return nil, nil
	},
	"leasing-get": func(s *service, ctx context.Context, req request) (any, error) {
		l, err := leasingHandle(req.Handle)
		if err != nil {
			return nil, err
		}
		resp, err := l.kv.Get(ctx, req.Key)
		if err != nil {
			return nil, err
		}
		if len(resp.Kvs) == 0 {
			return map[string]any{"found": false}, nil
		}
		kv := resp.Kvs[0]
		return map[string]any{"found": true, "value": string(kv.Value), "modRevision": kv.ModRevision}, nil
	},
	"leasing-put": func(s *service, ctx context.Context, req request) (any, error) {
		l, err := leasingHandle(req.Handle)
		if err != nil {
			return nil, err
		}
		resp, err := l.kv.Put(ctx, req.Key, req.Value)
		if err != nil {
			return nil, err
		}
		return map[string]any{"revision": resp.Header.Revision}, nil
	},
	"leasing-delete": func(s *service, ctx context.Context, req request) (any, error) {
		l, err := leasingHandle(req.Handle)
		if err != nil {
			return nil, err
		}
		resp, err := l.kv.Delete(ctx, req.Key)
		if err != nil {
			return nil, err
		}
		return map[string]any{"deleted": resp.Deleted}, nil
	},
	// A txn through Go's leasing KV putting one key (Go's leasing txn: guarded by the key's leasing key).
	"leasing-txn-put": func(s *service, ctx context.Context, req request) (any, error) {
		l, err := leasingHandle(req.Handle)
		if err != nil {
			return nil, err
		}
		resp, err := l.kv.Txn(ctx).Then(clientv3.OpPut(req.Key, req.Value)).Commit()
		if err != nil {
			return nil, err
		}
		return map[string]any{"succeeded": resp.Succeeded, "revision": resp.Header.Revision}, nil
	},
	"leasing-close": func(s *service, ctx context.Context, req request) (any, error) {
		leasingMu.Lock()
		l, ok := leasingKVs[req.Handle]
		delete(leasingKVs, req.Handle)
		leasingMu.Unlock()
		if !ok {
			return nil, errors.New("no such leasing handle")
		}
		l.close()
		return nil, nil
	},
}

func leasingHandle(handle string) (*leasingKV, error) {
	leasingMu.Lock()
	defer leasingMu.Unlock()
	l, ok := leasingKVs[handle]
	if !ok {
		return nil, fmt.Errorf("no leasing KV %q", handle)
	}
	return l, nil
}
