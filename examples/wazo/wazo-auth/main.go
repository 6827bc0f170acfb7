// Command wazo-auth is a stand-in for Wazo's authentication service,
// wazo-auth, enough to run examples/wazo: it issues opaque tokens to the
// users of a JSON file, each token carrying its user's ACL, and answers
// for them the RFC 7662 way, which is how wsgw checks them. It is not
// wazo-auth: no backends, policies, tenants or refresh tokens, and the
// tokens live in memory.
//
//	go run ./examples/wazo/wazo-auth --users examples/wazo/users.json
//
// Its API, on --listen (default 127.0.0.1:9497, wazo-auth's port):
//
//	POST   /0.1/token             Basic auth, optional {"expiration": seconds}: a new token,
//	                              answered as wazo-auth does ({"data": {"token", "acl", "expires_at", ...}})
//	DELETE /0.1/token/{token}     revokes a token (204)
//	POST   /0.1/token/introspect  RFC 7662: token=<token> (form-encoded) answers
//	                              {"active": true, "sub", "username", "acl", "exp"} or {"active": false}
package main

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"time"
)

// user is one account of the users file.
type user struct {
	Username string   `json:"username"`
	Password string   `json:"password"`
	UUID     string   `json:"uuid"`
	ACL      []string `json:"acl"`
}

// token is an issued token.
type token struct {
	user    *user
	expires time.Time
}

// server issues and checks tokens.
type server struct {
	users map[string]*user // by username
	mu    sync.Mutex
	toks  map[string]token
	now   func() time.Time
}

// defaultExpiration is a token's life when the request names none, as
// wazo-auth's default.
const defaultExpiration = 7200 * time.Second

func main() {
	listen := flag.String("listen", "127.0.0.1:9497", "address to serve on")
	usersFile := flag.String("users", "users.json", "the users: a JSON array of {username, password, uuid, acl}")
	flag.Parse()
	if err := run(*listen, *usersFile); err != nil {
		fmt.Fprintln(os.Stderr, "wazo-auth:", err)
		os.Exit(1)
	}
}

func run(listen, usersFile string) error {
	data, err := os.ReadFile(usersFile)
	if err != nil {
		return err
	}
	var users []*user
	if err := json.Unmarshal(data, &users); err != nil {
		return fmt.Errorf("%s: %w", usersFile, err)
	}
	s := &server{users: map[string]*user{}, toks: map[string]token{}, now: time.Now}
	for _, u := range users {
		s.users[u.Username] = u
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return err
	}
	// The line a caller waits for, with the port when --listen asked for :0.
	fmt.Printf("wazo-auth listening on %s\n", ln.Addr())
	mux := http.NewServeMux()
	mux.HandleFunc("POST /0.1/token", s.create)
	mux.HandleFunc("DELETE /0.1/token/{token}", s.revoke)
	mux.HandleFunc("POST /0.1/token/introspect", s.introspect)
	return (&http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}).Serve(ln)
}

// create issues a token to the user of the request's Basic credentials.
func (s *server) create(w http.ResponseWriter, r *http.Request) {
	name, pass, ok := r.BasicAuth()
	u := s.users[name]
	if !ok || u == nil || subtle.ConstantTimeCompare([]byte(pass), []byte(u.Password)) != 1 {
		http.Error(w, `{"reason": ["Authentication Failed"], "status_code": 401}`, http.StatusUnauthorized)
		return
	}
	var req struct {
		Expiration int `json:"expiration"`
	}
	if r.ContentLength != 0 {
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Expiration < 0 {
			http.Error(w, `{"reason": ["Invalid expiration"], "status_code": 400}`, http.StatusBadRequest)
			return
		}
	}
	life := defaultExpiration
	if req.Expiration > 0 {
		life = time.Duration(req.Expiration) * time.Second
	}
	b := make([]byte, 18)
	_, _ = rand.Read(b)
	id := base64.RawURLEncoding.EncodeToString(b)
	now := s.now()
	s.mu.Lock()
	s.toks[id] = token{user: u, expires: now.Add(life)}
	s.mu.Unlock()
	slog.Info("token issued", "username", u.Username, "expires_in", life.String())
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"data": map[string]any{
		"token": id, "acl": u.ACL, "auth_id": u.UUID, "xivo_user_uuid": u.UUID,
		"issued_at": now.UTC().Format(time.RFC3339), "expires_at": now.Add(life).UTC().Format(time.RFC3339),
		"metadata": map[string]any{"uuid": u.UUID, "username": u.Username},
	}})
}

// revoke deletes a token.
func (s *server) revoke(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	delete(s.toks, r.PathValue("token"))
	s.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

// introspect answers RFC 7662: whether the token is active, and for an
// active one its user, ACL and expiry.
func (s *server) introspect(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	id := r.PostFormValue("token")
	s.mu.Lock()
	t, ok := s.toks[id]
	s.mu.Unlock()
	if !ok || !s.now().Before(t.expires) {
		_ = json.NewEncoder(w).Encode(map[string]any{"active": false})
		return
	}
	_ = json.NewEncoder(w).Encode(map[string]any{
		"active": true, "sub": t.user.UUID, "username": t.user.Username, "acl": t.user.ACL, "exp": t.expires.Unix(),
		"token_type": "wazo-auth",
	})
}
