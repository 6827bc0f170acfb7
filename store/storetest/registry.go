// Package storetest holds the contract suites of the store interfaces:
// RunRegistry and RunRegistryNodes for store.Registry, RunBus for
// store.Bus, RunDeploys for store.DeployRegistry. store/memory and
// store/redis run every one of them in their own tests.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/wsgw/wsgw"
	"github.com/wsgw/wsgw/store"
)

// RegistryFactory returns a new, empty registry for one subtest. It may be
// shared with other nodes' views in implementations that have them; the
// suite uses it as a single node.
type RegistryFactory func(t *testing.T) store.Registry

// RunRegistry runs the registry's contract against registries made by
// newStore.
func RunRegistry(t *testing.T, newStore RegistryFactory) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Registry)
	}{
		{"RegisterGet", testRegisterGet},
		{"GetUnknown", testGetUnknown},
		{"Unregister", testUnregister},
		{"UnregisterUnknown", testUnregisterUnknown},
		{"ListEmpty", testListEmpty},
		{"ListAll", testListAll},
		{"ListPagesExactlyOnce", testListPages},
		{"ListCursorPastEnd", testListCursorPastEnd},
		{"ConcurrentRegister", testConcurrent},
		{"OrderPerSocket", testOrderPerSocket},
		{"Flush", testFlush},
		{"Ping", testPing},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			tc.fn(t, s)
		})
	}
}

// Node is the node that Run's stores serve and Info's records name.
const Node = "node-a"

// Info returns a filled-in record for id, as a gateway on Node would register it.
func Info(id string) *wsgw.SocketInfo { return InfoOn(id, Node) }

// InfoOn returns a filled-in record for id, held by node.
func InfoOn(id, node string) *wsgw.SocketInfo {
	return &wsgw.SocketInfo{
		ID:         id,
		Node:       node,
		URI:        "ws://127.0.0.1:8080/chat/lobby?x=1",
		Route:      "/chat/{room}",
		Headers:    map[string]string{"user-agent": "test", "x-multi": "a, b"},
		Parameters: map[string]string{"room": "lobby", "x": "1"},
		Timestamp:  1_700_000_000_000,
	}
}

func register(t *testing.T, s store.Registry, ids ...string) {
	t.Helper()
	for _, id := range ids {
		if err := s.Register(context.Background(), Info(id)); err != nil {
			t.Fatalf("Register(%s): %v", id, err)
		}
	}
}

func testRegisterGet(t *testing.T, s store.Registry) {
	want := Info("sock-1")
	register(t, s, "sock-1")
	got, err := s.Get(context.Background(), "sock-1")
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if got.ID != want.ID || got.Node != want.Node || got.URI != want.URI || got.Route != want.Route ||
		got.Timestamp != want.Timestamp || fmt.Sprint(got.Headers) != fmt.Sprint(want.Headers) ||
		fmt.Sprint(got.Parameters) != fmt.Sprint(want.Parameters) {
		t.Fatalf("Get = %+v, want %+v", got, want)
	}
}

func testGetUnknown(t *testing.T, s store.Registry) {
	if _, err := s.Get(context.Background(), "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Get(unknown) error = %v, want ErrNotFound", err)
	}
}

func testUnregister(t *testing.T, s store.Registry) {
	register(t, s, "a", "b")
	if err := s.Unregister(context.Background(), "a"); err != nil {
		t.Fatalf("Unregister: %v", err)
	}
	if _, err := s.Get(context.Background(), "a"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Get after Unregister error = %v, want ErrNotFound", err)
	}
	ids := listAll(t, s, 0)
	if !slices.Equal(ids, []string{"b"}) {
		t.Fatalf("List after Unregister = %v, want [b]", ids)
	}
}

func testUnregisterUnknown(t *testing.T, s store.Registry) {
	if err := s.Unregister(context.Background(), "never-registered"); err != nil {
		t.Fatalf("Unregister(unknown) = %v, want nil", err)
	}
}

func testListEmpty(t *testing.T, s store.Registry) {
	ids, next, err := s.List(context.Background(), "", 10)
	if err != nil || len(ids) != 0 || next != "" {
		t.Fatalf("List on empty store = %v, %q, %v; want [], \"\", nil", ids, next, err)
	}
}

func testListAll(t *testing.T, s store.Registry) {
	want := []string{"c", "a", "b"}
	register(t, s, want...)
	ids, next, err := s.List(context.Background(), "", 0)
	if err != nil || next != "" {
		t.Fatalf("List(limit 0) = next %q, err %v", next, err)
	}
	slices.Sort(ids)
	if !slices.Equal(ids, []string{"a", "b", "c"}) {
		t.Fatalf("List(limit 0) = %v, want a, b, c", ids)
	}
}

func testListPages(t *testing.T, s store.Registry) {
	const n = 1000
	want := make([]string, n)
	for i := range want {
		want[i] = fmt.Sprintf("sock-%04d", i)
	}
	register(t, s, want...)
	for _, limit := range []int{1, 7, 100, 999, 1000, 5000} {
		got := listAll(t, s, limit)
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Fatalf("paging with limit %d returned %d ids (duplicates or gaps), want each of %d once", limit, len(got), n)
		}
	}
}

func testListCursorPastEnd(t *testing.T, s store.Registry) {
	register(t, s, "a")
	ids, next, err := s.List(context.Background(), "", 1)
	if err != nil || len(ids) != 1 {
		t.Fatalf("List = %v, %v", ids, err)
	}
	if next == "" {
		return // the store knew it was the last page
	}
	ids, next, err = s.List(context.Background(), next, 1)
	if err != nil || len(ids) != 0 || next != "" {
		t.Fatalf("List past the end = %v, %q, %v; want [], \"\", nil", ids, next, err)
	}
}

func testConcurrent(t *testing.T, s store.Registry) {
	const workers, each = 8, 50
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				id := fmt.Sprintf("w%d-%d", w, i)
				if err := s.Register(context.Background(), Info(id)); err != nil {
					t.Errorf("Register: %v", err)
					return
				}
				if i%2 == 1 {
					if err := s.Unregister(context.Background(), id); err != nil {
						t.Errorf("Unregister: %v", err)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	if got := len(listAll(t, s, 33)); got != workers*each/2 {
		t.Fatalf("after concurrent register/unregister, List has %d ids, want %d", got, workers*each/2)
	}
}

// testOrderPerSocket registers and unregisters sockets back to back, without
// waiting, so that a batching store must keep each socket's order.
func testOrderPerSocket(t *testing.T, s store.Registry) {
	ctx := context.Background()
	var want []string
	for i := range 300 {
		id := fmt.Sprintf("order-%03d", i)
		mustDo(t, "Register", s.Register(ctx, Info(id)))
		switch i % 3 {
		case 0: // registered, unregistered: gone
			mustDo(t, "Unregister", s.Unregister(ctx, id))
		case 1: // registered, unregistered, registered again: there
			mustDo(t, "Unregister", s.Unregister(ctx, id))
			mustDo(t, "Register", s.Register(ctx, Info(id)))
			want = append(want, id)
		default:
			want = append(want, id)
		}
	}
	got := listAll(t, s, 0)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("after register/unregister sequences, List = %d ids, want %d: %v", len(got), len(want), diff(got, want))
	}
	for _, id := range []string{"order-000", "order-003"} {
		if _, err := s.Get(ctx, id); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("Get(%s) after Register, Unregister = %v, want ErrNotFound", id, err)
		}
	}
	if _, err := s.Get(ctx, "order-001"); err != nil {
		t.Fatalf("Get(order-001) after Register, Unregister, Register = %v", err)
	}
}

func testFlush(t *testing.T, s store.Registry) {
	register(t, s, "f1", "f2")
	mustDo(t, "Unregister", s.Unregister(context.Background(), "f1"))
	mustDo(t, "Flush", s.Flush(context.Background()))
	ids := listAll(t, s, 0)
	if !slices.Equal(ids, []string{"f2"}) {
		t.Fatalf("List after Flush = %v, want [f2]", ids)
	}
}

func testPing(t *testing.T, s store.Registry) {
	if err := s.Ping(context.Background()); err != nil {
		t.Fatalf("Ping: %v", err)
	}
}

func listAll(t *testing.T, s store.Registry, limit int) []string {
	t.Helper()
	var all []string
	cursor := ""
	for range 100_000 {
		ids, next, err := s.List(context.Background(), cursor, limit)
		if err != nil {
			t.Fatalf("List(%q, %d): %v", cursor, limit, err)
		}
		if limit > 0 && len(ids) > limit {
			t.Fatalf("List(%q, %d) returned %d ids, more than the limit", cursor, limit, len(ids))
		}
		all = append(all, ids...)
		if next == "" {
			return all
		}
		cursor = next
	}
	t.Fatal("List never returned an empty cursor")
	return nil
}

func mustDo(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// diff names the IDs that are in one sorted list and not the other.
func diff(got, want []string) string {
	var missing, extra []string
	for _, id := range want {
		if _, ok := slices.BinarySearch(got, id); !ok {
			missing = append(missing, id)
		}
	}
	for _, id := range got {
		if _, ok := slices.BinarySearch(want, id); !ok {
			extra = append(extra, id)
		}
	}
	return fmt.Sprintf("missing %v, extra %v", missing, extra)
}
