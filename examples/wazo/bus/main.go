// Command bus publishes a Wazo bus event to the websocketd clients of
// examples/wazo, over wsgw's admin REST API: a stand-in for the part of
// wazo-websocketd that consumes the bus. It reads one event, the message
// as it would be on the bus ({"name", "required_acl", "data", ...}), from
// its argument or standard input, and sends it, as it is, to every client
// that subscribed to its name (or to "*") and started, and whose ACL
// allows the event's required_acl:
//
//   - no required_acl key: no client gets the event;
//   - required_acl null: every subscribed client gets it;
//   - a string: the clients with an ACL pattern that grants it.
//
// It prints how many clients it sent to.
//
//	echo '{"name": "endpoint_status_update", "required_acl": null, "data": {"id": 7}}' |
//	  go run ./examples/wazo/bus --admin http://127.0.0.1:9090
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"
)

func main() {
	admin := flag.String("admin", "http://127.0.0.1:9090", "the gateway's admin API")
	token := flag.String("token", os.Getenv("WSGW_ADMIN_TOKEN"), "the admin token, if the gateway has one (default $WSGW_ADMIN_TOKEN)")
	flag.Parse()
	event, err := readEvent(flag.Args())
	if err == nil {
		var n int
		n, err = publish(api{base: strings.TrimSuffix(*admin, "/"), token: *token}, event)
		fmt.Println(n)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bus:", err)
		os.Exit(1)
	}
}

// readEvent reads the event from args[0], else standard input.
func readEvent(args []string) (json.RawMessage, error) {
	var data []byte
	var err error
	if len(args) > 0 {
		data = []byte(args[0])
	} else {
		data, err = io.ReadAll(os.Stdin)
	}
	if err != nil {
		return nil, err
	}
	if !json.Valid(data) {
		return nil, errors.New("the event is not JSON")
	}
	return bytes.TrimSpace(data), nil
}

// publish sends event to the clients allowed to get it and answers how
// many.
func publish(a api, event json.RawMessage) (int, error) {
	var e map[string]json.RawMessage
	var name string
	if json.Unmarshal(event, &e) != nil || json.Unmarshal(e["name"], &name) != nil || name == "" {
		return 0, errors.New(`the event is not an object with a "name"`)
	}
	raw, ok := e["required_acl"]
	if !ok {
		return 0, nil // no required_acl: nobody gets it
	}
	var required *string // null: anyone subscribed
	if err := json.Unmarshal(raw, &required); err != nil {
		return 0, errors.New("required_acl is neither null nor a string")
	}
	var ids []string
	for _, group := range []string{"wazo.event." + name, "wazo.event.*"} {
		var members []string
		if err := a.call("GET", "/api/v1/websocket/groups/"+url.PathEscape(group)+"/sockets", nil, &members); err != nil {
			return 0, err
		}
		for _, id := range members {
			if !slices.Contains(ids, id) {
				ids = append(ids, id)
			}
		}
	}
	type item struct {
		SocketID string `json:"socket_id"`
		Message  string `json:"message"` // a string goes out as it is: the event's own bytes
	}
	var batch []item
	for _, id := range ids {
		var info struct {
			State struct {
				ACL []string `json:"acl"`
			} `json:"state"`
		}
		if err := a.call("GET", "/api/v1/websocket/sockets/"+url.PathEscape(id), nil, &info); err != nil {
			continue // gone meanwhile
		}
		if required == nil || slices.ContainsFunc(info.State.ACL, func(p string) bool { return aclMatches(p, *required) }) {
			batch = append(batch, item{id, string(event)})
		}
	}
	if len(batch) == 0 {
		return 0, nil
	}
	var answers []json.RawMessage
	if err := a.call("POST", "/api/v1/websocket/sockets/send", batch, &answers); err != nil {
		return 0, err
	}
	sent := 0
	for _, ans := range answers {
		if string(ans) == "null" {
			sent++
		}
	}
	return sent, nil
}

// aclMatches reports whether the ACL pattern grants acl, as wazo-auth
// reads patterns: dot-separated words, "*" one word, "#" any number of
// them (websocketd.js has the same function).
func aclMatches(pattern, acl string) bool {
	return match(strings.Split(pattern, "."), strings.Split(acl, "."))
}

func match(p, a []string) bool {
	switch {
	case len(p) == 0:
		return len(a) == 0
	case p[0] == "#":
		for k := 0; k <= len(a); k++ {
			if match(p[1:], a[k:]) {
				return true
			}
		}
		return false
	}
	return len(a) > 0 && (p[0] == "*" || p[0] == a[0]) && match(p[1:], a[1:])
}

// api calls the gateway's admin REST API.
type api struct{ base, token string }

var client = &http.Client{Timeout: 10 * time.Second}

// call makes a request with body as JSON (nil for none) and decodes a 2xx
// answer into out; another status is an error with the answer's text.
func (a api) call(method, path string, body, out any) error {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, a.base+path, r)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if a.token != "" {
		req.Header.Set("Authorization", "Bearer "+a.token)
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	text, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, bytes.TrimSpace(text))
	}
	return json.Unmarshal(text, out)
}
