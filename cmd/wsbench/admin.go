package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// adminAPI is a client of wsgw's admin REST API whose connections all go to
// the address checked by the loopback guard.
type adminAPI struct {
	base  string
	token string
	hc    *http.Client
}

// listPageSize is the page size asked for when listing sockets.
const listPageSize = 1000

// maxListPages bounds paging in case a server keeps handing out cursors.
const maxListPages = 10_000

func newAdminAPI(r *runner) *adminAPI {
	addr := r.admin.Addr.String()
	d := &net.Dialer{Timeout: time.Duration(r.cfg.DialTimeout)}
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return d.DialContext(ctx, network, addr)
		},
		MaxIdleConnsPerHost: r.share.RESTConc,
		MaxConnsPerHost:     r.share.RESTConc,
		IdleConnTimeout:     time.Minute,
		DisableCompression:  true,
	}
	return &adminAPI{
		base:  strings.TrimRight(r.cfg.Admin, "/"),
		token: r.cfg.Token,
		hc:    &http.Client{Transport: tr, Timeout: time.Duration(r.cfg.DialTimeout)},
	}
}

// list pages through GET /api/v1/websocket/sockets, following X-Next-Cursor.
func (a *adminAPI) list(ctx context.Context) ([]string, error) {
	var ids []string
	seen := map[string]bool{}
	cursor := ""
	for range maxListPages {
		u := fmt.Sprintf("%s/api/v1/websocket/sockets?limit=%d", a.base, listPageSize)
		if cursor != "" {
			u += "&cursor=" + url.QueryEscape(cursor)
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return nil, fmt.Errorf("list sockets: %w", err)
		}
		resp, err := a.do(req)
		if err != nil {
			return nil, fmt.Errorf("list sockets: %w", err)
		}
		var page []string
		err = decodeJSON(resp, &page)
		if err != nil {
			return nil, fmt.Errorf("list sockets: %w", err)
		}
		ids = append(ids, page...)
		next := resp.Header.Get("X-Next-Cursor")
		if next == "" {
			return ids, nil
		}
		if seen[next] {
			return nil, fmt.Errorf("list sockets: cursor %q repeats", next)
		}
		seen[next], cursor = true, next
	}
	return nil, fmt.Errorf("list sockets: more than %d pages", maxListPages)
}

// sendBody is the JSON body of POST .../send.
type sendBody struct {
	Message string `json:"message"`
	Type    string `json:"type"`
}

// send posts one text message to a socket and returns the HTTP status.
func (a *adminAPI) send(ctx context.Context, id, msg string) (int, error) {
	body, err := json.Marshal(sendBody{Message: msg, Type: "data-text"})
	if err != nil {
		return 0, fmt.Errorf("encode send body: %w", err)
	}
	u := a.base + "/api/v1/websocket/sockets/" + url.PathEscape(id) + "/send"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return 0, fmt.Errorf("send to %s: %w", id, err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := a.do(req)
	if err != nil {
		return 0, fmt.Errorf("send to %s: %w", id, err)
	}
	_, _ = io.Copy(io.Discard, resp.Body) // drain so the connection is reused
	_ = resp.Body.Close()
	return resp.StatusCode, nil
}

// batchSendItem is one element of POST /api/v1/websocket/sockets/send.
type batchSendItem struct {
	SocketID string `json:"socket_id"`
	Message  string `json:"message"`
	Type     string `json:"type"`
}

// sendBatch posts items to the batch send route and returns how many were
// queued (answered null) and the HTTP status.
func (a *adminAPI) sendBatch(ctx context.Context, items []batchSendItem) (int, int, error) {
	body, err := json.Marshal(items)
	if err != nil {
		return 0, 0, fmt.Errorf("encode batch: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.base+"/api/v1/websocket/sockets/send", bytes.NewReader(body))
	if err != nil {
		return 0, 0, fmt.Errorf("batch send: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := a.do(req)
	if err != nil {
		return 0, 0, fmt.Errorf("batch send: %w", err)
	}
	var answers []json.RawMessage
	if err := decodeJSON(resp, &answers); err != nil {
		return 0, resp.StatusCode, fmt.Errorf("batch send: %w", err)
	}
	return countQueued(answers), resp.StatusCode, nil
}

func (a *adminAPI) do(req *http.Request) (*http.Response, error) {
	if a.token != "" {
		req.Header.Set("Authorization", "Bearer "+a.token)
	}
	return a.hc.Do(req)
}

// decodeJSON reads a 200 response into v and closes the body.
func decodeJSON(resp *http.Response, v any) error {
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("HTTP %d: %s", resp.StatusCode, bytes.TrimSpace(b))
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		return fmt.Errorf("decode JSON: %w", err)
	}
	return nil
}
