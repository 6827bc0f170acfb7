package main

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestLeanConnAgainstNetHTTP posts to an httptest server answering in each
// framing net/http uses, on one connection, and checks status, body and
// what the server received.
func TestLeanConnAgainstNetHTTP(t *testing.T) {
	var conns atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("POST /adm/empty", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /adm/echo", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if r.Header.Get("Authorization") != "Bearer tok" || r.Header.Get("Content-Type") != "application/json" {
			http.Error(w, "headers", http.StatusBadRequest)
			return
		}
		_, _ = w.Write(b) // small: sent with Content-Length
	})
	mux.HandleFunc("POST /adm/chunked", func(w http.ResponseWriter, r *http.Request) {
		for range 3 {
			_, _ = w.Write([]byte("part;"))
			w.(http.Flusher).Flush() // forces chunked encoding
		}
	})
	mux.HandleFunc("POST /adm/close", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Connection", "close")
		http.Error(w, "gone", http.StatusGone)
	})
	srv := httptest.NewUnstartedServer(mux)
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)

	c, err := newLeanConn(srv.URL+"/adm/", srv.Listener.Addr().String(), "tok", 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	tests := []struct {
		path, body string
		status     int
		want       string
		conns      int64 // connections the server has seen after the request
	}{
		{"/empty", `{}`, 204, "", 1},
		{"/echo", `{"message":"hi"}`, 200, `{"message":"hi"}`, 1},
		{"/chunked", `{}`, 200, "part;part;part;", 1},
		{"/echo", strings.Repeat("x", 10_000), 200, strings.Repeat("x", 10_000), 1},
		{"/missing", `{}`, 404, "404 page not found\n", 1},
		{"/close", `{}`, 410, "gone\n", 1},
		{"/empty", `{}`, 204, "", 2}, // the server closed: a new connection
	}
	for _, tc := range tests {
		status, body, err := c.post(t.Context(), tc.path, []byte(tc.body))
		if err != nil || status != tc.status || string(body) != tc.want {
			t.Fatalf("POST %s: %d %q, %v; want %d %q", tc.path, status, body, err, tc.status, tc.want)
		}
		if n := conns.Load(); n != tc.conns {
			t.Fatalf("after POST %s: the server saw %d connections, want %d", tc.path, n, tc.conns)
		}
	}
}

// TestLeanConnFraming answers from a raw socket with framings net/http does
// not produce, and with malformed answers, which must fail the request.
func TestLeanConnFraming(t *testing.T) {
	tests := []struct {
		name, answer string
		status       int
		want         string
		err          bool
	}{
		{"continue first", "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n", 204, "", false},
		{"bare LF", "HTTP/1.1 200 OK\nContent-Length: 2\n\nok", 200, "ok", false},
		{"chunk extension and trailer", "HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\n\r\n2;x=y\r\nok\r\n0\r\nT: v\r\n\r\n", 200, "ok", false},
		{"until close", "HTTP/1.0 200 OK\r\n\r\nall of it", 200, "all of it", false},
		{"status without reason", "HTTP/1.1 204\r\n\r\n", 204, "", false},
		{"short body", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nok", 200, "", true},
		{"conflicting lengths", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok", 200, "", true},
		{"bad status line", "HTTP/1.1 2x4 No\r\n\r\n", 0, "", true},
		{"not HTTP", "SSH-2.0-OpenSSH\r\n\r\n", 0, "", true},
		{"header without colon", "HTTP/1.1 204 No Content\r\nbogus\r\n\r\n", 204, "", true},
		{"gzip encoding", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", 200, "", true},
		{"bad chunk size", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 200, "", true},
		{"nothing", "", 0, "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			addr, got := answerOnce(t, tc.answer)
			c, err := newLeanConn("http://"+addr, addr, "", 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			status, body, err := c.post(t.Context(), "/p", []byte("{}"))
			if (err != nil) != tc.err || status != tc.status || !tc.err && string(body) != tc.want {
				t.Fatalf("got %d %q, %v; want %d %q, error %v", status, body, err, tc.status, tc.want, tc.err)
			}
			if tc.err && c.conn != nil {
				t.Fatal("the connection stays open after a failed request")
			}
			if req := <-got; !strings.HasPrefix(req, "POST /p HTTP/1.1\r\nHost: "+addr+"\r\n") || !strings.HasSuffix(req, "Content-Length: 2\r\n\r\n{}") {
				t.Fatalf("the server received %q", req)
			}
		})
	}
}

// answerOnce accepts one connection, reads one request of a two-byte body,
// writes answer and closes; the request read arrives on the channel.
func answerOnce(t *testing.T, answer string) (string, <-chan string) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	got := make(chan string, 1)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			got <- err.Error()
			return
		}
		defer conn.Close()
		br := bufio.NewReader(conn)
		var req strings.Builder
		for {
			line, err := br.ReadString('\n')
			req.WriteString(line)
			if err != nil || line == "\r\n" {
				break
			}
		}
		body := make([]byte, 2)
		_, _ = io.ReadFull(br, body)
		req.Write(body)
		_, _ = conn.Write([]byte(answer))
		got <- req.String()
	}()
	return ln.Addr().String(), got
}

func TestLeanConnDialError(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close() // nothing listens there now
	c, err := newLeanConn("http://"+addr, addr, "", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var opErr *net.OpError
	if _, _, err := c.post(t.Context(), "/p", nil); !errors.As(err, &opErr) {
		t.Fatalf("post to a closed port: %v, want a dial error", err)
	}
}

func TestAppendJSONString(t *testing.T) {
	for in, want := range map[string]string{
		"wsb:1:2:3:xx": `"wsb:1:2:3:xx"`,
		`a"b\c`:        `"a\"b\\c"`,
		"tab\tnl\n":    `"tab\u0009nl\u000a"`,
		"é":            `"é"`,
	} {
		if got := string(appendJSONString(nil, []byte(in))); got != want {
			t.Errorf("appendJSONString(%q) = %s, want %s", in, got, want)
		}
	}
}
