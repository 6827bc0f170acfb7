package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"time"
)

// Values of --rest-client.
const (
	restClientLean    = "lean"
	restClientNetHTTP = "net/http"
)

// restClient posts rest-send's measured requests on one keep-alive
// connection of its own, one request in flight.
type restClient interface {
	// send posts msg to one socket and returns the HTTP status; a status
	// other than 2xx comes with an error.
	send(ctx context.Context, t target, msg []byte) (int, error)
	// sendBatch posts items to the batch route and returns how many were
	// queued (answered null) and the HTTP status.
	sendBatch(ctx context.Context, items []batchItem) (queued, status int, err error)
	Close()
}

// batchItem is one message of a batch send.
type batchItem struct {
	t   target
	msg []byte
}

// newRESTClient makes a client of the kind --rest-client names.
func newRESTClient(r *runner, api *adminAPI) (restClient, error) {
	if r.cfg.RESTClient == restClientNetHTTP {
		return netHTTPClient{api: api}, nil
	}
	c, err := newLeanConn(r.cfg.Admin, r.admin.Addr.String(), r.cfg.Token, time.Duration(r.cfg.DialTimeout))
	if err != nil {
		return nil, err
	}
	return &leanClient{conn: c}, nil
}

// sendPath is the path, below the admin URL, of the send route of socket id.
func sendPath(id string) string {
	return "/api/v1/websocket/sockets/" + url.PathEscape(id) + "/send"
}

// batchPath is the path, below the admin URL, of the batch send route.
const batchPath = "/api/v1/websocket/sockets/send"

// leanClient formats request bodies into a reused buffer and posts them
// with a leanConn.
type leanClient struct {
	conn *leanConn
	buf  []byte
}

func (c *leanClient) send(ctx context.Context, t target, msg []byte) (int, error) {
	c.buf = append(c.buf[:0], `{"message":`...)
	c.buf = appendJSONString(c.buf, msg)
	c.buf = append(c.buf, `,"type":"data-text"}`...)
	status, body, err := c.conn.post(ctx, t.path, c.buf)
	if err != nil {
		return status, fmt.Errorf("send to %s: %w", t.id, err)
	}
	if status/100 != 2 {
		return status, fmt.Errorf("send to %s: HTTP %d: %s", t.id, status, snippet(body))
	}
	return status, nil
}

func (c *leanClient) sendBatch(ctx context.Context, items []batchItem) (int, int, error) {
	c.buf = append(c.buf[:0], '[')
	for i, it := range items {
		if i > 0 {
			c.buf = append(c.buf, ',')
		}
		c.buf = append(c.buf, `{"socket_id":`...)
		c.buf = appendJSONString(c.buf, []byte(it.t.id))
		c.buf = append(c.buf, `,"message":`...)
		c.buf = appendJSONString(c.buf, it.msg)
		c.buf = append(c.buf, `,"type":"data-text"}`...)
	}
	c.buf = append(c.buf, ']')
	status, body, err := c.conn.post(ctx, batchPath, c.buf)
	if err != nil {
		return 0, status, fmt.Errorf("batch send: %w", err)
	}
	if status != 200 {
		return 0, status, fmt.Errorf("batch send: HTTP %d: %s", status, snippet(body))
	}
	var answers []json.RawMessage
	if err := json.Unmarshal(body, &answers); err != nil {
		return 0, status, fmt.Errorf("batch send: decode JSON: %w", err)
	}
	return countQueued(answers), status, nil
}

func (c *leanClient) Close() { c.conn.Close() }

// netHTTPClient posts through the adminAPI's net/http client, for comparison
// with the lean one.
type netHTTPClient struct{ api *adminAPI }

func (c netHTTPClient) send(ctx context.Context, t target, msg []byte) (int, error) {
	status, err := c.api.send(ctx, t.id, string(msg))
	if err == nil && status/100 != 2 {
		err = fmt.Errorf("send to %s: HTTP %d", t.id, status)
	}
	return status, err
}

func (c netHTTPClient) sendBatch(ctx context.Context, items []batchItem) (int, int, error) {
	body := make([]batchSendItem, len(items))
	for i, it := range items {
		body[i] = batchSendItem{SocketID: it.t.id, Message: string(it.msg), Type: "data-text"}
	}
	return c.api.sendBatch(ctx, body)
}

func (netHTTPClient) Close() {} // the transport's idle connections go with the process

// countQueued counts the null answers of a batch send: the queued items.
func countQueued(answers []json.RawMessage) int {
	queued := 0
	for _, a := range answers {
		if string(a) == "null" {
			queued++
		}
	}
	return queued
}

// snippet is the start of an error answer's body, for a message.
func snippet(body []byte) []byte {
	return bytes.TrimSpace(body[:min(len(body), 512)])
}

// appendJSONString appends s as a JSON string. s is expected to be UTF-8;
// only the characters JSON requires are escaped.
func appendJSONString(buf, s []byte) []byte {
	const hex = "0123456789abcdef"
	buf = append(buf, '"')
	for _, b := range s {
		switch {
		case b == '"' || b == '\\':
			buf = append(buf, '\\', b)
		case b < 0x20:
			buf = append(buf, '\\', 'u', '0', '0', hex[b>>4], hex[b&0xf])
		default:
			buf = append(buf, b)
		}
	}
	return append(buf, '"')
}
