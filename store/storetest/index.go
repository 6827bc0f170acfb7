package storetest

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/wsgw/wsgw/store"
)

// RunIndex runs the contract of store.Index against registries made by
// newStore, each used as a single node.
func RunIndex(t *testing.T, newStore RegistryFactory) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Registry)
	}{
		{"JoinTwice", testJoinTwice},
		{"LeaveUnknown", testLeaveUnknown},
		{"UnregisterDropsAll", testUnregisterDropsAll},
		{"UnknownSocketIgnored", testIndexUnknownSocket},
		{"PerUserLists", testPerUserLists},
		{"GroupPagesExactlyOnce", testGroupPages},
		{"GroupNamesAsTheyAre", testGroupNames},
		{"InOrderWithRegister", testIndexOrder},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, newStore(t)) })
	}
}

// KillFunc stops the node of s as a crash would: it leaves nothing.
type KillFunc func(t *testing.T, s store.Registry)

// RunIndexNodes runs the part of the index's contract that concerns
// several nodes: a group or a user spans them, and the sockets of a node
// that dies leave every group and user. kill is nil for a store whose
// nodes cannot die apart (one process): that test is skipped.
func RunIndexNodes(t *testing.T, newNodes RegistryNodesFactory, kill KillFunc) {
	nodes := []string{"node-a", "node-b", "node-c"}
	t.Run("GroupsAndUsersSpanNodes", func(t *testing.T) { testIndexSpansNodes(t, nodes, newNodes(t, nodes...)) })
	t.Run("DeadNodePurged", func(t *testing.T) {
		if kill == nil {
			t.Skip("the nodes of this store live and die with one process")
		}
		testDeadNodePurged(t, nodes, newNodes(t, nodes...), kill)
	})
}

var ctx = context.Background()

func groupAll(t *testing.T, s store.Registry, group string, limit int) []string {
	t.Helper()
	var all []string
	cursor := ""
	for range 100_000 {
		ids, next, err := s.GroupSockets(ctx, group, cursor, limit)
		if err != nil {
			t.Fatalf("GroupSockets(%q, %q, %d): %v", group, cursor, limit, err)
		}
		if ids == nil {
			t.Fatalf("GroupSockets(%q) returned nil, want an empty list", group)
		}
		if limit > 0 && len(ids) > limit {
			t.Fatalf("GroupSockets returned %d ids, more than the limit %d", len(ids), limit)
		}
		all = append(all, ids...)
		if next == "" {
			return all
		}
		cursor = next
	}
	t.Fatal("GroupSockets never returned an empty cursor")
	return nil
}

func users(t *testing.T, s store.Registry, user string) []string {
	t.Helper()
	ids, err := s.UserSockets(ctx, user)
	if err != nil {
		t.Fatalf("UserSockets(%q): %v", user, err)
	}
	if ids == nil {
		t.Fatalf("UserSockets(%q) returned nil, want an empty list", user)
	}
	return ids
}

func expectIDs(t *testing.T, what string, got []string, want ...string) {
	t.Helper()
	if want == nil {
		want = []string{}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("%s = %q, want %q", what, got, want)
	}
}

func flushed(t *testing.T, s store.Registry) {
	t.Helper()
	mustDo(t, "Flush", s.Flush(ctx))
}

func testJoinTwice(t *testing.T, s store.Registry) {
	register(t, s, "s1", "s2")
	mustDo(t, "Join", s.Join(ctx, "s1", "room"))
	mustDo(t, "Join", s.Join(ctx, "s1", "room"))
	mustDo(t, "Join", s.Join(ctx, "s2", "room"))
	flushed(t, s)
	expectIDs(t, "members", groupAll(t, s, "room", 0), "s1", "s2")
	mustDo(t, "Leave", s.Leave(ctx, "s1", "room"))
	flushed(t, s)
	expectIDs(t, "members after s1 left once", groupAll(t, s, "room", 0), "s2")
}

func testLeaveUnknown(t *testing.T, s store.Registry) {
	register(t, s, "s1")
	mustDo(t, "Leave of a group never joined", s.Leave(ctx, "s1", "nowhere"))
	mustDo(t, "Leave of an unknown socket", s.Leave(ctx, "ghost", "nowhere"))
	flushed(t, s)
	expectIDs(t, "members of a group nobody joined", groupAll(t, s, "nowhere", 0))
	expectIDs(t, "sockets of a user with none", users(t, s, "nobody"))
}

func testUnregisterDropsAll(t *testing.T, s store.Registry) {
	register(t, s, "s1", "s2")
	for _, g := range []string{"a", "b", "c"} {
		mustDo(t, "Join", s.Join(ctx, "s1", g))
	}
	mustDo(t, "Join", s.Join(ctx, "s2", "a"))
	mustDo(t, "SetUser", s.SetUser(ctx, "s1", "ana"))
	mustDo(t, "SetState", s.SetState(ctx, "s1", []byte(`{"n":1}`)))
	mustDo(t, "Unregister", s.Unregister(ctx, "s1"))
	flushed(t, s)
	expectIDs(t, "a", groupAll(t, s, "a", 0), "s2")
	expectIDs(t, "b", groupAll(t, s, "b", 0))
	expectIDs(t, "c", groupAll(t, s, "c", 0))
	expectIDs(t, "ana", users(t, s, "ana"))
	// The same ID registered again starts with nothing.
	register(t, s, "s1")
	flushed(t, s)
	expectIDs(t, "b after s1 came back", groupAll(t, s, "b", 0))
	expectIDs(t, "ana after s1 came back", users(t, s, "ana"))
}

func testIndexUnknownSocket(t *testing.T, s store.Registry) {
	mustDo(t, "Join", s.Join(ctx, "ghost", "room"))
	mustDo(t, "SetUser", s.SetUser(ctx, "ghost", "ana"))
	mustDo(t, "SetState", s.SetState(ctx, "ghost", []byte(`{}`)))
	flushed(t, s)
	expectIDs(t, "members", groupAll(t, s, "room", 0))
	expectIDs(t, "ana", users(t, s, "ana"))
}

func testPerUserLists(t *testing.T, s store.Registry) {
	register(t, s, "s1", "s2", "s3")
	mustDo(t, "SetUser", s.SetUser(ctx, "s1", "ana"))
	mustDo(t, "SetUser", s.SetUser(ctx, "s2", "ana"))
	mustDo(t, "SetUser", s.SetUser(ctx, "s3", "bo"))
	flushed(t, s)
	expectIDs(t, "ana", users(t, s, "ana"), "s1", "s2")
	expectIDs(t, "bo", users(t, s, "bo"), "s3")
	mustDo(t, "SetUser", s.SetUser(ctx, "s2", "bo"))
	mustDo(t, "SetUser", s.SetUser(ctx, "s3", ""))
	flushed(t, s)
	expectIDs(t, "ana after s2 moved", users(t, s, "ana"), "s1")
	expectIDs(t, "bo after s2 came and s3 left", users(t, s, "bo"), "s2")
}

func testGroupPages(t *testing.T, s store.Registry) {
	var want []string
	for i := range 250 {
		id := fmt.Sprintf("sock-%04d", i)
		register(t, s, id)
		mustDo(t, "Join", s.Join(ctx, id, "big"))
		want = append(want, id)
	}
	register(t, s, "outsider")
	flushed(t, s)
	for _, limit := range []int{0, 1, 7, 249, 250, 1000} {
		got := groupAll(t, s, "big", limit)
		if !slices.Equal(got, want) {
			t.Fatalf("paging by %d: %s", limit, diff(got, want))
		}
	}
}

func testGroupNames(t *testing.T, s store.Registry) {
	register(t, s, "s1")
	names := []string{"a:b", "{tag}", "room/1 ü", "x*?[]"}
	for _, g := range names {
		mustDo(t, "Join", s.Join(ctx, "s1", g))
	}
	flushed(t, s)
	for _, g := range names {
		expectIDs(t, "members of "+g, groupAll(t, s, g, 0), "s1")
	}
	expectIDs(t, "a prefix of a name is another group", groupAll(t, s, "a", 0))
}

func testIndexOrder(t *testing.T, s store.Registry) {
	for i := range 100 {
		id := fmt.Sprintf("s%d", i)
		register(t, s, id)
		mustDo(t, "Join", s.Join(ctx, id, "g"))
		if i%2 == 0 {
			mustDo(t, "Leave", s.Leave(ctx, id, "g"))
		}
		if i%3 == 0 {
			mustDo(t, "Unregister", s.Unregister(ctx, id))
		}
	}
	flushed(t, s)
	var want []string
	for i := range 100 {
		if i%2 != 0 && i%3 != 0 {
			want = append(want, fmt.Sprintf("s%d", i))
		}
	}
	slices.Sort(want)
	expectIDs(t, "members", groupAll(t, s, "g", 0), want...)
}

func testIndexSpansNodes(t *testing.T, nodes []string, stores []store.Registry) {
	var members []string
	for i, s := range stores {
		for k := range 2 {
			id := fmt.Sprintf("%s-%d", nodes[i], k)
			mustDo(t, "Register", s.Register(ctx, InfoOn(id, nodes[i])))
			mustDo(t, "Join", s.Join(ctx, id, "room"))
			members = append(members, id)
		}
		mustDo(t, "SetUser", s.SetUser(ctx, fmt.Sprintf("%s-0", nodes[i]), "ana"))
	}
	flushAll(t, stores)
	slices.Sort(members)
	for i, s := range stores {
		if got := groupAll(t, s, "room", 4); !slices.Equal(got, members) {
			t.Fatalf("node %s sees the room as %s", nodes[i], diff(got, members))
		}
		expectIDs(t, "ana seen from "+nodes[i], users(t, s, "ana"), "node-a-0", "node-b-0", "node-c-0")
	}
}

func testDeadNodePurged(t *testing.T, nodes []string, stores []store.Registry, kill KillFunc) {
	for i, s := range stores {
		id := nodes[i] + "-0"
		mustDo(t, "Register", s.Register(ctx, InfoOn(id, nodes[i])))
		mustDo(t, "Join", s.Join(ctx, id, "room"))
		mustDo(t, "SetUser", s.SetUser(ctx, id, "ana"))
	}
	flushAll(t, stores)
	kill(t, stores[1])
	live := stores[0]
	want := []string{"node-a-0", "node-c-0"}
	deadline := time.Now().Add(30 * time.Second)
	for {
		got, ugot := groupAll(t, live, "room", 0), users(t, live, "ana")
		if slices.Equal(got, want) && slices.Equal(ugot, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("30s after node-b died, the room is %q and ana's sockets %q; want %q", got, ugot, want)
		}
		time.Sleep(50 * time.Millisecond) // polling the store: it gives no signal of a purge
	}
}
