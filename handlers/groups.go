package handlers

import (
	"net/http"
)

// The REST paths of users and groups. {user_id} and {group} are one
// path segment each, URL-encoded as endpoint paths are.

func (a *admin) listUser(w http.ResponseWriter, r *http.Request) {
	ids, err := a.opts.Service.ListUser(r.Context(), r.PathValue("user_id"))
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, ids)
}

func (a *admin) sendToUser(w http.ResponseWriter, r *http.Request) {
	req, ok := a.sendBody(w, r, false)
	if !ok {
		return
	}
	n, err := a.opts.Service.SendToUser(r.Context(), r.PathValue("user_id"), req.message())
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, n)
}

func (a *admin) closeUser(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	code, err := closeCode(q)
	if err != nil {
		writeError(w, err)
		return
	}
	n, err := a.opts.Service.CloseUser(r.Context(), r.PathValue("user_id"), code, q.Get("reason"))
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, n)
}

func (a *admin) listGroup(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, err := pageLimit(q)
	if err != nil {
		writeError(w, err)
		return
	}
	ids, next, err := a.opts.Service.ListGroup(r.Context(), r.PathValue("group"), q.Get("cursor"), limit)
	if err != nil {
		writeError(w, err)
		return
	}
	if next != "" {
		w.Header().Set("X-Next-Cursor", next)
	}
	writeJSON(w, http.StatusOK, ids)
}

func (a *admin) join(w http.ResponseWriter, r *http.Request) {
	if err := a.opts.Service.Join(r.Context(), r.PathValue("socket_id"), r.PathValue("group")); err != nil {
		writeError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *admin) leave(w http.ResponseWriter, r *http.Request) {
	if err := a.opts.Service.Leave(r.Context(), r.PathValue("socket_id"), r.PathValue("group")); err != nil {
		writeError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *admin) publish(w http.ResponseWriter, r *http.Request) {
	req, ok := a.sendBody(w, r, true)
	if !ok {
		return
	}
	if err := a.opts.Service.Publish(r.Context(), r.PathValue("group"), req.message(), req.Exclude); err != nil {
		writeError(w, err)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

func (a *admin) broadcast(w http.ResponseWriter, r *http.Request) {
	req, ok := a.sendBody(w, r, true)
	if !ok {
		return
	}
	if err := a.opts.Service.Broadcast(r.Context(), req.message(), req.Exclude); err != nil {
		writeError(w, err)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

// sendBody reads and decodes a send body (publish: with exclude), or
// answers its error.
func (a *admin) sendBody(w http.ResponseWriter, r *http.Request, publish bool) (SendRequest, bool) {
	limit := a.maxBody()
	if publish {
		limit += 64 << 10 // room for exclude
	}
	body, err := readBody(w, r, limit)
	if err == nil {
		decode := DecodeSend
		if publish {
			decode = DecodePublish
		}
		var req SendRequest
		if req, err = decode(body, r.Header.Get("Content-Type")); err == nil {
			return req, true
		}
	}
	writeError(w, err)
	return SendRequest{}, false
}
