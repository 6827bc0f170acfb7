package redis_test

import (
	"context"
	"testing"
	"time"

	"github.com/coder/websocket"
	gostomp "github.com/go-stomp/stomp/v3"

	"github.com/wsgw/wsgw"
	"github.com/wsgw/wsgw/internal/gwtest"
)

// testSTOMPAcross: a go-stomp subscriber on node 0 gets, as MESSAGE frames
// of its subscription, publishes to its destination made on node 1 (text,
// then JSON with headers) and a send to it with a destination, headers and
// a JSON body made on node 1.
func testSTOMPAcross(t *testing.T, b backend) {
	nodes := b.startNodes(t, 2)
	proto := wsgw.ProtocolSTOMP
	dep := wsgw.Deployment{Path: "/stomp", Script: `return;`, Source: "config",
		Options: wsgw.Options{Protocol: &proto, STOMP: &wsgw.STOMPOptions{Heartbeat: "0s,0s"}}}
	if _, err := nodes[0].deploys.DeployConfig(context.Background(), dep); err != nil {
		t.Fatal(err)
	}
	gwtest.Eventually(t, "the STOMP endpoint on node 1", func() bool {
		_, err := nodes[1].deploys.Deployment(context.Background(), "/stomp")
		return err == nil
	})

	ctx, cancel := context.WithTimeout(context.Background(), gwtest.WaitFor)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, nodes[0].url("/stomp"), &websocket.DialOptions{Subprotocols: []string{"v12.stomp"}})
	if err != nil {
		t.Fatal(err)
	}
	nc := websocket.NetConn(context.Background(), ws, websocket.MessageText)
	defer nc.Close()
	c, err := gostomp.Connect(nc)
	if err != nil {
		t.Fatal(err)
	}
	sub, err := c.Subscribe("/topic/news", gostomp.AckAuto)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Send("/nowhere", "text/plain", nil, gostomp.SendOpt.Receipt); err != nil {
		t.Fatal(err) // the SUBSCRIBE before it is processed
	}
	gwtest.Eventually(t, "the subscriber in the group, seen from node 1", func() bool {
		ids, _, err := nodes[1].svc.ListGroup(context.Background(), "/topic/news", "", 0)
		return err == nil && len(ids) == 1
	})

	next := func() *gostomp.Message {
		t.Helper()
		select {
		case m := <-sub.C:
			if m == nil || m.Err != nil {
				t.Fatalf("subscription: %+v", m)
			}
			return m
		case <-time.After(gwtest.WaitFor):
			t.Fatal("no MESSAGE")
		}
		return nil
	}
	if err := nodes[1].svc.Publish(context.Background(), "/topic/news", &wsgw.Message{Data: []byte("from node 1")}, nil); err != nil {
		t.Fatal(err)
	}
	if m := next(); string(m.Body) != "from node 1" || m.Destination != "/topic/news" || m.ContentType != "text/plain" {
		t.Fatalf("published MESSAGE %q %s %s", m.Body, m.Destination, m.ContentType)
	}
	err = nodes[1].svc.Publish(context.Background(), "/topic/news", &wsgw.Message{
		Data: []byte(`{"n":0}`), JSON: true, Headers: map[string]string{"x-pub": "1"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if m := next(); string(m.Body) != `{"n":0}` || m.ContentType != "application/json" || m.Header.Get("x-pub") != "1" {
		t.Fatalf("published JSON MESSAGE %q %s %v", m.Body, m.ContentType, m.Header)
	}
	err = nodes[1].svc.Send(context.Background(), c.Session(), &wsgw.Message{
		Data: []byte(`{"n":1}`), JSON: true, Destination: "/topic/news", Headers: map[string]string{"x-node": "1"}})
	if err != nil {
		t.Fatal(err)
	}
	if m := next(); string(m.Body) != `{"n":1}` || m.ContentType != "application/json" || m.Header.Get("x-node") != "1" {
		t.Fatalf("sent MESSAGE %q %s %v", m.Body, m.ContentType, m.Header)
	}
}
