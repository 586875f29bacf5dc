package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"

	"go.etcd.io/etcd/client/v3/concurrency"
	recipe "go.etcd.io/etcd/client/v3/experimental/recipes"
)

// Go's experimental/recipes (Barrier, DoubleBarrier, Queue, PriorityQueue, RWMutex) for
// test/interop/go-recipes.test.ts. Those recipes take no context: each call runs on a goroutine of its
// own, and a canceled request answers with the context's error while the call goes on (it ends when
// etcd lets it, or with the program).

// recipeHolder is an RWMutex or a DoubleBarrier held under a handle, on a session of its own.
type recipeHolder struct {
	session *concurrency.Session
	rw      *recipe.RWMutex
	barrier *recipe.DoubleBarrier
}

var (
	recipeMu      sync.Mutex
	recipeHolders = map[string]*recipeHolder{}
)

// recipeCommands are the commands of this file, found by dispatch's default case.
var recipeCommands = map[string]func(*service, context.Context, request) (any, error){
	"rw-lock":        (*service).rwLock,
	"rw-unlock":      (*service).recipeRelease,
	"dbarrier-enter": (*service).doubleBarrierEnter,
	"dbarrier-leave": (*service).recipeRelease,
	"queue-enqueue":  (*service).queueEnqueue,
	"queue-dequeue":  (*service).queueDequeue,
	"pq-enqueue":     (*service).priorityEnqueue,
	"pq-dequeue":     (*service).priorityDequeue,
	"barrier-hold": func(s *service, ctx context.Context, req request) (any, error) {
		return nil, recipe.NewBarrier(s.client, req.Name).Hold()
	},
	"barrier-release": func(s *service, ctx context.Context, req request) (any, error) {
		return nil, recipe.NewBarrier(s.client, req.Name).Release()
	},
	"barrier-wait": func(s *service, ctx context.Context, req request) (any, error) {
		return untilDone(ctx, recipe.NewBarrier(s.client, req.Name).Wait)
	},
}

// untilDone runs call on its own goroutine and answers with its error, or with ctx's once it is done.
func untilDone(ctx context.Context, call func() error) (any, error) {
	done := make(chan error, 1)
	go func() { done <- call() }()
	select {
	case err := <-done:
		return nil, err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func claimRecipeHandle(handle string) error {
	recipeMu.Lock()
	defer recipeMu.Unlock()
	if handle == "" {
		return errors.New("no handle")
	}
	if _, dup := recipeHolders[handle]; dup {
		return fmt.Errorf("handle %s in use", handle)
	}
	recipeHolders[handle] = nil
	return nil
}

func setRecipeHolder(handle string, h *recipeHolder) {
	recipeMu.Lock()
	defer recipeMu.Unlock()
	if h == nil {
		delete(recipeHolders, handle)
	} else {
		recipeHolders[handle] = h
	}
}

// rwLock is NewSession + NewRWMutex(session, req.Name), then RLock (req.Value "read") or Lock ("write").
func (s *service) rwLock(ctx context.Context, req request) (any, error) {
	if err := claimRecipeHandle(req.Handle); err != nil {
		return nil, err
	}
	session, err := s.newSession(req)
	if err != nil {
		setRecipeHolder(req.Handle, nil)
		return nil, err
	}
	rw := recipe.NewRWMutex(session, req.Name)
	lock := rw.Lock
	if req.Value == "read" {
		lock = rw.RLock
	}
	if _, err := untilDone(ctx, lock); err != nil {
		_ = session.Close()
		setRecipeHolder(req.Handle, nil)
		return nil, err
	}
	setRecipeHolder(req.Handle, &recipeHolder{session: session, rw: rw})
	return map[string]any{"lease": fmt.Sprintf("%x", session.Lease())}, nil
}

// doubleBarrierEnter is NewSession + NewDoubleBarrier(session, req.Name, count).Enter, count in req.Value.
func (s *service) doubleBarrierEnter(ctx context.Context, req request) (any, error) {
	count, err := strconv.Atoi(req.Value)
	if err != nil {
		return nil, fmt.Errorf("value: the participant count: %w", err)
	}
	if err := claimRecipeHandle(req.Handle); err != nil {
		return nil, err
	}
	session, err := s.newSession(req)
	if err != nil {
		setRecipeHolder(req.Handle, nil)
		return nil, err
	}
	barrier := recipe.NewDoubleBarrier(session, req.Name, count)
	if _, err := untilDone(ctx, barrier.Enter); err != nil {
		_ = session.Close()
		setRecipeHolder(req.Handle, nil)
		return nil, err
	}
	setRecipeHolder(req.Handle, &recipeHolder{session: session, barrier: barrier})
	return map[string]any{"lease": fmt.Sprintf("%x", session.Lease())}, nil
}

// recipeRelease is RWMutex.Unlock or DoubleBarrier.Leave of the handle, then its session's close.
func (s *service) recipeRelease(ctx context.Context, req request) (any, error) {
	recipeMu.Lock()
	h := recipeHolders[req.Handle]
	delete(recipeHolders, req.Handle)
	recipeMu.Unlock()
	if h == nil {
		return nil, fmt.Errorf("nothing held under %s", req.Handle)
	}
	defer h.session.Close()
	if h.rw != nil {
		return untilDone(ctx, h.rw.Unlock)
	}
	return untilDone(ctx, h.barrier.Leave)
}

func (s *service) queueEnqueue(ctx context.Context, req request) (any, error) {
	return nil, recipe.NewQueue(s.client, req.Name).Enqueue(req.Value)
}

func (s *service) queueDequeue(ctx context.Context, req request) (any, error) {
	var value string
	_, err := untilDone(ctx, func() (err error) {
		value, err = recipe.NewQueue(s.client, req.Name).Dequeue()
		return err
	})
	return map[string]any{"value": value}, err
}

// priorityEnqueue is PriorityQueue.Enqueue(req.Value, priority req.Rev).
func (s *service) priorityEnqueue(ctx context.Context, req request) (any, error) {
	return nil, recipe.NewPriorityQueue(s.client, req.Name).Enqueue(req.Value, uint16(req.Rev))
}

func (s *service) priorityDequeue(ctx context.Context, req request) (any, error) {
	var value string
	_, err := untilDone(ctx, func() (err error) {
		value, err = recipe.NewPriorityQueue(s.client, req.Name).Dequeue()
		return err
	})
	return map[string]any{"value": value}, err
}
