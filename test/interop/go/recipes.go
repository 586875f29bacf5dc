package main

import (
	"context"
	"errors"
	"fmt"

	"go.etcd.io/etcd/client/v3/concurrency"
)

// holder is a lock or a candidacy held under a handle, on a session of its own.
type holder struct {
	session  *concurrency.Session
	mutex    *concurrency.Mutex
	election *concurrency.Election
}

func (s *service) newSession(req request) (*concurrency.Session, error) {
	ttl := req.TTL
	if ttl <= 0 {
		ttl = 10
	}
	return concurrency.NewSession(s.client, concurrency.WithTTL(ttl))
}

func (s *service) claimHandle(handle string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if handle == "" {
		return errors.New("no handle")
	}
	if _, dup := s.holders[handle]; dup {
		return fmt.Errorf("handle %s in use", handle)
	}
	s.holders[handle] = nil
	return nil
}

func (s *service) setHolder(handle string, h *holder) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if h == nil {
		delete(s.holders, handle)
	} else {
		s.holders[handle] = h
	}
}

func (s *service) takeHolder(handle string) (*holder, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := s.holders[handle]
	if h == nil {
		return nil, fmt.Errorf("nothing held under %s", handle)
	}
	delete(s.holders, handle)
	return h, nil
}

// lock is NewSession + NewMutex(session, req.Name).Lock: it answers once the lock is held (or the
// request is canceled), with the lock's key and the store revision it was taken at.
func (s *service) lock(ctx context.Context, req request) (any, error) {
	if err := s.claimHandle(req.Handle); err != nil {
		return nil, err
	}
	session, err := s.newSession(req)
	if err != nil {
		s.setHolder(req.Handle, nil)
		return nil, err
	}
	mutex := concurrency.NewMutex(session, req.Name)
	if err := mutex.Lock(ctx); err != nil {
		_ = session.Close()
		s.setHolder(req.Handle, nil)
		return nil, err
	}
	s.setHolder(req.Handle, &holder{session: session, mutex: mutex})
	return map[string]any{
		"key":      mutex.Key(),
		"lease":    fmt.Sprintf("%x", session.Lease()),
		"revision": mutex.Header().Revision,
	}, nil
}

// tryLock is Mutex.TryLock: {"locked":true} and the lock is held, or {"locked":false} (ErrLocked).
func (s *service) tryLock(ctx context.Context, req request) (any, error) {
	if err := s.claimHandle(req.Handle); err != nil {
		return nil, err
	}
	session, err := s.newSession(req)
	if err != nil {
		s.setHolder(req.Handle, nil)
		return nil, err
	}
	mutex := concurrency.NewMutex(session, req.Name)
	err = mutex.TryLock(ctx)
	if err != nil {
		_ = session.Close()
		s.setHolder(req.Handle, nil)
		if errors.Is(err, concurrency.ErrLocked) {
			return map[string]any{"locked": false}, nil
		}
		return nil, err
	}
	s.setHolder(req.Handle, &holder{session: session, mutex: mutex})
	return map[string]any{"locked": true, "key": mutex.Key()}, nil
}

// unlock is Mutex.Unlock, then the session's close (its lease revoked).
func (s *service) unlock(ctx context.Context, req request) (any, error) {
	h, err := s.takeHolder(req.Handle)
	if err != nil {
		return nil, err
	}
	defer h.session.Close()
	if h.mutex == nil {
		return nil, fmt.Errorf("%s holds no lock", req.Handle)
	}
	key := h.mutex.Key()
	if err := h.mutex.Unlock(ctx); err != nil {
		return nil, err
	}
	return map[string]any{"key": key}, nil
}

// campaign is NewSession + NewElection(session, req.Name).Campaign(req.Value): it answers once elected.
func (s *service) campaign(ctx context.Context, req request) (any, error) {
	if err := s.claimHandle(req.Handle); err != nil {
		return nil, err
	}
	session, err := s.newSession(req)
	if err != nil {
		s.setHolder(req.Handle, nil)
		return nil, err
	}
	election := concurrency.NewElection(session, req.Name)
	if err := election.Campaign(ctx, req.Value); err != nil {
		_ = session.Close()
		s.setHolder(req.Handle, nil)
		return nil, err
	}
	s.setHolder(req.Handle, &holder{session: session, election: election})
	return map[string]any{"key": election.Key(), "revision": election.Rev()}, nil
}

// resign is Election.Resign, then the session's close.
func (s *service) resign(ctx context.Context, req request) (any, error) {
	h, err := s.takeHolder(req.Handle)
	if err != nil {
		return nil, err
	}
	defer h.session.Close()
	if h.election == nil {
		return nil, fmt.Errorf("%s holds no candidacy", req.Handle)
	}
	key := h.election.Key()
	if err := h.election.Resign(ctx); err != nil {
		return nil, err
	}
	return map[string]any{"key": key}, nil
}

// leader is Election.Leader on req.Name: {"key","value","createRevision"}, or {"none":true} for
// ErrElectionNoLeader. Leader only reads, but Go's Election needs a session: one is made for the call.
func (s *service) leader(ctx context.Context, req request) (any, error) {
	session, err := s.newSession(req)
	if err != nil {
		return nil, err
	}
	defer session.Close()
	resp, err := concurrency.NewElection(session, req.Name).Leader(ctx)
	if errors.Is(err, concurrency.ErrElectionNoLeader) {
		return map[string]any{"none": true}, nil
	}
	if err != nil {
		return nil, err
	}
	kv := resp.Kvs[0]
	return map[string]any{"key": string(kv.Key), "value": string(kv.Value), "createRevision": kv.CreateRevision}, nil
}
