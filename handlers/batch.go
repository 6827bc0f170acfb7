package handlers

import (
	"encoding/json"
	"net/http"
	"sync"

	"github.com/wsgw/wsgw"
	"github.com/wsgw/wsgw/internal/httperr"
)

// Bounds of one batch send (docs/openapi.yaml, sendBatch).
const (
	// MaxBatchItems is the most messages one batch may carry; more answer
	// 413.
	MaxBatchItems = 1000
	// maxBatchBody caps a batch's body unless one send's cap is larger.
	maxBatchBody = 16 << 20
	// batchWorkers bounds the sockets a batch sends to at once: a socket on
	// another node costs a round trip through the bus, which the others
	// need not wait for.
	batchWorkers = 16
)

// batchItem is one element of a batch send's body.
type batchItem struct {
	SocketID    string            `json:"socket_id"`
	Message     json.RawMessage   `json:"message"`
	Type        *string           `json:"type"`
	Destination string            `json:"destination"`
	Headers     map[string]string `json:"headers"`
	err         error             // why the item cannot be sent, before its message is looked at
}

// decodeBatch decodes a batch's body into its items, within the bounds. A
// body whose items are all well formed is read in one pass; otherwise each
// item is decoded on its own, so that each bad one gets its own error.
func decodeBatch(body []byte) ([]batchItem, error) {
	var items []batchItem
	if err := decodeStrict(body, &items); err == nil && items != nil {
		for i := range items {
			if items[i].SocketID == "" {
				items[i].err = wsgw.Errorf(wsgw.EInvalid, "item %d: socket_id is required", i)
			}
		}
		return items, checkBatchSize(len(items))
	}
	var raw []json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil || raw == nil {
		msg := "the body is not a JSON array of {socket_id, message, type}"
		if err != nil {
			msg += ": " + err.Error()
		}
		return nil, wsgw.Errorf(wsgw.EInvalid, "%s", msg)
	}
	if err := checkBatchSize(len(raw)); err != nil {
		return nil, err
	}
	items = make([]batchItem, len(raw))
	for i, item := range raw {
		it := &items[i]
		if err := decodeStrict(item, it); err != nil {
			it.err = wsgw.Errorf(wsgw.EInvalid, "item %d is not a JSON object of socket_id, message and type: %v", i, err)
		} else if it.SocketID == "" {
			it.err = wsgw.Errorf(wsgw.EInvalid, "item %d: socket_id is required", i)
		}
	}
	return items, nil
}

func checkBatchSize(n int) error {
	switch {
	case n == 0:
		return wsgw.Errorf(wsgw.EInvalid, "the batch is empty")
	case n > MaxBatchItems:
		return wsgw.Errorf(wsgw.ETooLarge, "the batch has %d items; at most %d go in one request", n, MaxBatchItems)
	}
	return nil
}

// sendBatch sends each item of a JSON array of {socket_id, message, type,
// destination, headers}
// and answers 200 with an array of the same length: null where the item
// was queued, its {type, error, status} where it was not. Items to one
// socket are sent in the order given; different sockets are sent to
// concurrently.
func (a *admin) sendBatch(w http.ResponseWriter, r *http.Request) {
	if err := checkJSON(r.Header.Get("Content-Type")); err != nil {
		writeError(w, err)
		return
	}
	body, err := readBody(w, r, max(a.maxBody(), maxBatchBody))
	if err != nil {
		writeError(w, err)
		return
	}
	items, err := decodeBatch(body)
	if err != nil {
		writeError(w, err)
		return
	}
	results := make([]*httperr.Body, len(items))
	fail := func(i int, err error) {
		b := httperr.BodyOf(err)
		results[i] = &b
	}
	reqs := make([]SendRequest, len(items))
	var order []string                             // socket IDs in the order they first appear
	bySocket := make(map[string][]int, len(items)) // socket ID -> its items, in order
	for i, it := range items {
		if it.err != nil {
			fail(i, it.err)
			continue
		}
		req, err := decodeMessage(it.Message, it.Type)
		if err != nil {
			fail(i, err)
			continue
		}
		req.Destination, req.Headers = it.Destination, it.Headers
		reqs[i] = req
		if _, seen := bySocket[it.SocketID]; !seen {
			order = append(order, it.SocketID)
		}
		bySocket[it.SocketID] = append(bySocket[it.SocketID], i)
	}
	next := make(chan string)
	var wg sync.WaitGroup
	for range min(batchWorkers, len(order)) {
		wg.Go(func() {
			for id := range next {
				for _, i := range bySocket[id] {
					if err := a.opts.Service.Send(r.Context(), id, reqs[i].message()); err != nil {
						fail(i, err)
					}
				}
			}
		})
	}
	for _, id := range order {
		next <- id
	}
	close(next)
	wg.Wait()
	writeJSON(w, http.StatusOK, results)
}
