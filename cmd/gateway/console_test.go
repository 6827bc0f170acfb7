package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	cdpruntime "github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/coder/websocket"

	"github.com/wsgw/wsgw/internal/gwtest"
)

// The console tests drive /console/ in headless Chromium, against a gateway
// started as the binary starts it. Outside CI they skip when no Chromium is
// installed; under CI=true (.ci/run installs Debian's chromium) they fail.

// idJS tells each client its socket_id, so that a test knows which row is its.
const idJS = `if (websocketInfo.type === "open") return websocketInfo.socket_id;`

// consoleConfig is a gateway on loopback ports whose admin API needs token.
func consoleConfig(token string) string {
	return fmt.Sprintf(`
listen: "127.0.0.1:0"
admin: {listen: "127.0.0.1:0", token: %q}
log: {level: info, format: json}
limits: {messages_per_second: 0}
endpoints:
  - path: /id
    script: id.js
  - path: /echo
    script: echo.js
`, token)
}

// browser is one headless Chromium tab.
type browser struct {
	t   *testing.T
	ctx context.Context
}

// chromium finds the browser: $WSGW_CHROMIUM, else chromium or Chrome on the PATH.
func chromium(t *testing.T) string {
	t.Helper()
	names := []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"}
	if p := os.Getenv("WSGW_CHROMIUM"); p != "" {
		names = []string{p}
	}
	for _, name := range names {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	msg := "no Chromium found (" + strings.Join(names, ", ") + "): install Debian's chromium (apt-get install chromium) or set WSGW_CHROMIUM to run the console tests"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// newBrowser starts headless Chromium with a fresh profile; it stops when
// the test ends.
func newBrowser(t *testing.T) *browser {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium(t)),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1400, 900),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancelCtx()
		cancelAlloc()
	})
	// Start the browser with no deadline: a deadline on the first call would
	// stop the browser with it.
	started := make(chan error, 1)
	go func() { started <- chromedp.Do(ctx) }()
	select {
	case err := <-started:
		if err != nil {
			t.Fatalf("starting Chromium: %v", err)
		}
	case <-time.After(waitFor):
		t.Fatalf("Chromium did not start within %v", waitFor)
	}
	// Any uncaught JavaScript error fails the test.
	var mu sync.Mutex
	var thrown []string
	if err := chromedp.Listen(ctx, func(ev any) {
		if e, ok := ev.(*cdpruntime.EventExceptionThrown); ok {
			what := e.ExceptionDetails.Text
			if x := e.ExceptionDetails.Exception; x != nil {
				what += " " + x.Description
			}
			mu.Lock()
			thrown = append(thrown, what)
			mu.Unlock()
		}
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		for _, e := range thrown {
			t.Errorf("the page threw: %s", e)
		}
	})
	return &browser{t: t, ctx: ctx}
}

// do runs actions, each wait bounded by waitFor.
func (b *browser) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, waitFor)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
}

// eval answers a JavaScript expression's value.
func eval[T any](b *browser, js string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, waitFor)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	if err != nil {
		b.t.Fatalf("evaluating %s: %v", js, err)
	}
	return v
}

// until waits for a JavaScript expression to be true.
func (b *browser) until(what, js string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, waitFor)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](js, chromedp.WithPollingTimeout(waitFor))); err != nil {
		b.t.Fatalf("waiting for %s (%s): %v; the page's last message: %q", what, js, err, b.text("#toast"))
	}
}

// text is the text of the element sel.
func (b *browser) text(sel string) string {
	b.t.Helper()
	return eval[string](b, fmt.Sprintf(`document.querySelector(%q)?.textContent ?? ""`, sel))
}

// socketID reads the socket_id the /id script sends a new client.
func socketID(t *testing.T, c *gwtest.Client) string {
	t.Helper()
	id := c.ReadText()
	if len(id) != 22 {
		t.Fatalf("socket_id %q", id)
	}
	return id
}

// adminGet makes an admin call with the token and answers the status and body.
func adminGet(t *testing.T, srv *server, method, path, token string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, "http://"+srv.adminAddr+path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(resp.Body)
	return resp.StatusCode, buf.String()
}

// TestConsole clicks through the console against a gateway with an admin
// token: nothing but the static files loads before the token; then a
// connecting client appears, a send reaches it, a close closes it with the
// code given, close-all asks first, and a script that does not compile shows
// its line.
func TestConsole(t *testing.T) {
	const token = "console-s3cret"
	srv, _ := startGateway(t, map[string]string{
		"gateway.yaml": consoleConfig(token),
		"id.js":        idJS,
		"echo.js":      echoJS,
	})
	b := newBrowser(t)
	ws := func(path string) string { return "ws://" + srv.publicAddr + path }
	consoleURL := "http://" + srv.adminAddr + "/console"

	var mu sync.Mutex
	apiStatus := map[string][]int{} // API path -> the statuses the page got
	if err := chromedp.Listen(b.ctx, func(ev any) {
		if e, ok := ev.(*network.EventResponseReceived); ok && strings.Contains(e.Response.URL, "/api/") {
			mu.Lock()
			path := strings.TrimPrefix(e.Response.URL, "http://"+srv.adminAddr)
			apiStatus[path] = append(apiStatus[path], int(e.Response.Status))
			mu.Unlock()
		}
	}); err != nil {
		t.Fatal(err)
	}

	first := gwtest.Dial(t, ws("/id"), nil)
	firstID := socketID(t, first)

	t.Run("the token prompt gates everything", func(t *testing.T) {
		b.t = t
		if status, _ := adminGet(t, srv, "GET", "/console/app.js", ""); status != 200 {
			t.Fatalf("the console's files without the token: %d, want 200", status)
		}
		b.do("open the console", chromedp.Navigate(consoleURL), chromedp.WaitVisible(chromedp.CSS("#token-dialog")))
		if got := eval[string](b, `location.pathname`); got != "/console/" {
			t.Fatalf("/console led to %s, want /console/", got)
		}
		// The page asked for sockets, endpoints and the stream, and got 401
		// for each: no data until the token.
		b.until("the first calls to be refused", `document.querySelector("#token-dialog").open`)
		mu.Lock()
		for path, statuses := range apiStatus {
			for _, s := range statuses {
				if s != 401 {
					t.Errorf("before the token, %s answered %d", path, s)
				}
			}
		}
		asked := len(apiStatus)
		mu.Unlock()
		if asked == 0 {
			t.Fatal("the page made no API call before the token")
		}
		if rows := eval[int](b, `document.querySelectorAll("#sockets tbody tr, #endpoints tbody tr").length`); rows != 0 {
			t.Fatalf("%d rows shown without the token", rows)
		}

		b.do("give a wrong token", chromedp.SendKeys(chromedp.CSS("#token-input"), "wrong"), chromedp.Click(chromedp.CSS("#token-submit")))
		b.until("the prompt again, saying the token was refused",
			`document.querySelector("#token-dialog").open && document.querySelector("#token-message").textContent.includes("refused")`)

		b.do("give the token", chromedp.SendKeys(chromedp.CSS("#token-input"), token), chromedp.Click(chromedp.CSS("#token-submit")))
		b.until("the prompt to close", `!document.querySelector("#token-dialog").open`)
		if got := eval[string](b, `sessionStorage.getItem("wsgw.admin.token")`); got != token {
			t.Fatalf("sessionStorage holds %q, want the token", got)
		}
		b.until("the stats stream", `document.querySelector("#live").textContent === "live"`)
	})

	t.Run("a connecting socket appears", func(t *testing.T) {
		b.t = t
		b.until("the socket open before the token", fmt.Sprintf(`!!document.querySelector('#sockets tr[data-id=%q]')`, firstID))
		c := gwtest.Dial(t, ws("/id"), nil)
		id := socketID(t, c)
		b.until("the new socket's row, without a reload", fmt.Sprintf(`!!document.querySelector('#sockets tr[data-id=%q]')`, id))
		if route := b.text(fmt.Sprintf(`#sockets tr[data-id=%q] td:nth-child(2)`, id)); route != "/id" {
			t.Fatalf("route cell %q, want /id", route)
		}
		b.until("this node's count", `document.querySelector("#open-now").textContent === "2"`)
	})

	t.Run("send and close", func(t *testing.T) {
		b.t = t
		b.do("open the socket's details", chromedp.Click(chromedp.CSS(fmt.Sprintf(`#sockets tr[data-id=%q]`, firstID))))
		b.until("the details", fmt.Sprintf(`document.querySelector("#details-id").textContent === %q`, firstID))
		if route := b.text("#details-info dd"); route != "/id" {
			t.Fatalf("details start with %q, want the route /id", route)
		}

		b.do("send text", chromedp.SendKeys(chromedp.CSS("#send-message"), "hello from the console"), chromedp.Click(chromedp.CSS("#send")))
		if got := first.ReadText(); got != "hello from the console" {
			t.Fatalf("the client got %q", got)
		}
		b.do("send binary",
			chromedp.SetValue(chromedp.CSS("#send-message"), "AAEC/w=="),
			chromedp.SetValue(chromedp.CSS("#send-type"), "data-binary"),
			chromedp.Click(chromedp.CSS("#send")))
		if typ, got := first.Read(); typ != websocket.MessageBinary || got != "\x00\x01\x02\xff" {
			t.Fatalf("the client got a %v frame %q, want binary 00 01 02 ff", typ, got)
		}

		b.do("close with a code",
			chromedp.SetValue(chromedp.CSS("#close-code"), "4321"),
			chromedp.SendKeys(chromedp.CSS("#close-reason"), "bye from the console"),
			chromedp.Click(chromedp.CSS("#close")))
		if code, reason := first.ExpectClose(); code != 4321 || reason != "bye from the console" {
			t.Fatalf("the client saw close %d %q, want 4321 and the reason", code, reason)
		}
		b.until("the closed socket to leave the list", fmt.Sprintf(`!document.querySelector('#sockets tr[data-id=%q]:not(.gone)')`, firstID))
	})

	t.Run("close all asks first", func(t *testing.T) {
		b.t = t
		others := []*gwtest.Client{gwtest.Dial(t, ws("/id"), nil), gwtest.Dial(t, ws("/id"), nil)}
		var ids []string
		for _, c := range others {
			id := socketID(t, c)
			ids = append(ids, id)
			b.until("the socket's row", fmt.Sprintf(`!!document.querySelector('#sockets tr[data-id=%q]')`, id))
		}
		listed := func() string {
			status, body := adminGet(t, srv, "GET", "/api/v1/websocket/sockets", token)
			if status != 200 {
				t.Fatalf("listing: %d %s", status, body)
			}
			return body
		}
		// Only these two are open: the earlier subtests' clients have gone.
		gwtest.Eventually(t, "only the two sockets open", func() bool { return strings.Count(listed(), ",") == 1 })
		b.do("close all, then cancel", chromedp.Click(chromedp.CSS("#close-all")), chromedp.WaitVisible(chromedp.CSS("#confirm-dialog")))
		b.do("cancel", chromedp.Click(chromedp.CSS("#confirm-cancel")))
		b.until("the confirmation to close", `!document.querySelector("#confirm-dialog").open`)
		if body := listed(); !strings.Contains(body, ids[0]) || !strings.Contains(body, ids[1]) {
			t.Fatalf("after cancel the sockets are %s, want both still open", body)
		}
		b.do("close all, then confirm", chromedp.Click(chromedp.CSS("#close-all")), chromedp.WaitVisible(chromedp.CSS("#confirm-dialog")))
		b.do("confirm", chromedp.Click(chromedp.CSS("#confirm-ok")))
		for _, c := range others {
			if code, _ := c.ExpectClose(); code != websocket.StatusNormalClosure {
				t.Fatalf("close all: the client saw %d, want 1000", code)
			}
		}
		b.until("the list to empty", `document.querySelectorAll("#sockets tbody tr:not(.gone)").length === 0`)
		b.until("the count of the close", `document.querySelector("#toast").textContent === "Closed 2 sockets"`)
	})

	t.Run("a refused script shows its line", func(t *testing.T) {
		b.t = t
		b.do("open /echo", chromedp.Click(chromedp.CSS("#tab-endpoints")))
		b.until("the endpoint list", `!!document.querySelector('#endpoints tr[data-path="/echo"]')`)
		b.do("open /echo", chromedp.Click(chromedp.CSS(`#endpoints tr[data-path="/echo"]`)))
		b.until("the script in the editor", `document.querySelector("#editor textarea").value.includes("websocketInfo.message")`)

		var src strings.Builder
		for i := 1; i <= 80; i++ {
			if i == 57 {
				src.WriteString("var broken = ;\n")
				continue
			}
			fmt.Fprintf(&src, "// line %d\n", i)
		}
		js, _ := json.Marshal(src.String())
		b.do("type a broken script",
			chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(() => { const a = document.querySelector("#editor textarea");
				a.value = %s; a.dispatchEvent(new Event("input")); })()`, js)),
			chromedp.Click(chromedp.CSS("#deploy")))
		b.until("the error", `!document.querySelector("#deploy-error").hidden`)
		if msg := b.text("#deploy-error"); !strings.Contains(msg, "/echo:57:") {
			t.Fatalf("the error %q does not name line 57", msg)
		}
		if line := b.text("#editor .gutter .error"); line != "57" {
			t.Fatalf("the gutter marks line %q, want 57", line)
		}
		if !eval[bool](b, `(() => { const a = document.querySelector("#editor textarea"), bar = document.querySelector("#editor .error-line");
			return !bar.hidden && a.scrollTop > 0 && bar.offsetTop >= 0 && bar.offsetTop + bar.offsetHeight <= a.clientHeight; })()`) {
			t.Fatal("the error line is not marked in view")
		}
		version := b.text(`#endpoints tr[data-path="/echo"] td.num`)
		if status, body := adminGet(t, srv, "GET", "/api/v1/endpoints/%2Fecho", token); status != 200 || !strings.Contains(body, `"version":`+version+",") {
			t.Fatalf("after the refused deploy: %d %s, want version %s still", status, body, version)
		}

		b.do("fix it and deploy",
			chromedp.Evaluate[chromedp.Void](`(() => { const a = document.querySelector("#editor textarea");
				a.value = 'if (websocketInfo.type === "data") return "fixed: " + websocketInfo.message;';
				a.dispatchEvent(new Event("input")); })()`),
			chromedp.Click(chromedp.CSS("#deploy")))
		b.until("a new version", fmt.Sprintf(`document.querySelector('#endpoints tr[data-path="/echo"] td.num').textContent !== %q`, version))
		if !eval[bool](b, `document.querySelector("#deploy-error").hidden && !document.querySelector("#editor .gutter .error")`) {
			t.Fatal("the error is still shown after a good deploy")
		}
		c := gwtest.Dial(t, ws("/echo"), nil)
		c.Send("hi")
		if got := c.ReadText(); got != "fixed: hi" {
			t.Fatalf("/echo answers %q after the deploy, want the new script's", got)
		}
	})

	t.Run("a new endpoint", func(t *testing.T) {
		b.t = t
		b.do("create /echo again",
			chromedp.Click(chromedp.CSS("#new-endpoint")),
			chromedp.SendKeys(chromedp.CSS("#edit-path"), "/echo"),
			chromedp.Click(chromedp.CSS("#deploy")))
		b.until("the refusal", `document.querySelector("#deploy-error").textContent.includes("/echo exists already")`)
		b.do("create /made",
			chromedp.Click(chromedp.CSS("#new-endpoint")),
			chromedp.SendKeys(chromedp.CSS("#edit-path"), "/made/{thing}"),
			chromedp.Click(chromedp.CSS("#deploy")))
		b.until("the new endpoint in the list", `!!document.querySelector('#endpoints tr[data-path="/made/{thing}"]')`)
		if got := b.text("#toast"); !strings.HasPrefix(got, "Created /made/{thing}, version ") {
			t.Fatalf("toast %q, want the endpoint created", got)
		}
		c := gwtest.Dial(t, ws("/made/x"), nil)
		if got := c.ReadText(); got != "Welcome" {
			t.Fatalf("the new endpoint's template answers %q, want Welcome", got)
		}
	})

	if out := os.Getenv("WSGW_CONSOLE_SCREENSHOT"); out != "" {
		screenshot(t, b, srv, token, out)
	}
}

// TestConsoleWithoutToken: with no admin.token (a loopback admin listener)
// the console works without asking for one.
func TestConsoleWithoutToken(t *testing.T) {
	srv, _ := startGateway(t, map[string]string{
		"gateway.yaml": consoleConfig(""),
		"id.js":        idJS,
		"echo.js":      echoJS,
	})
	b := newBrowser(t)
	c := gwtest.Dial(t, "ws://"+srv.publicAddr+"/id", nil)
	id := socketID(t, c)
	b.do("open the console", chromedp.Navigate("http://"+srv.adminAddr+"/console/"))
	b.until("the socket's row", fmt.Sprintf(`!!document.querySelector('#sockets tr[data-id=%q]')`, id))
	if eval[bool](b, `document.querySelector("#token-dialog").open || !document.querySelector("#forget-token").hidden`) {
		t.Fatal("the console asked for a token that the gateway does not need")
	}
}

// screenshot writes a picture of the console with traffic to out (relative
// to the repository root): WSGW_CONSOLE_SCREENSHOT=docs/console.png.
func screenshot(t *testing.T, b *browser, srv *server, token, out string) {
	b.t = t
	if !filepath.IsAbs(out) {
		out = filepath.Join("..", "..", out)
	}
	req, _ := http.NewRequest("PUT", "http://"+srv.adminAddr+"/api/v1/endpoints/%2Fchat%2F%7Broom%7D",
		strings.NewReader(`{"script": "if (websocketInfo.type === \"data\") return websocketInfo.message;"}`))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("deploying /chat/{room}: %s", resp.Status)
	}
	ws := func(path string) string { return "ws://" + srv.publicAddr + path }
	routes := []string{"/echo", "/chat/lobby", "/chat/ops", "/id"}
	var clients []*gwtest.Client
	for i := 0; i < 14; i++ {
		path := routes[i%len(routes)]
		clients = append(clients, gwtest.Dial(t, ws(path+fmt.Sprintf("?client=%d", i)), nil))
	}
	b.do("show the sockets", chromedp.EmulateViewport(1400, 900), chromedp.Click(chromedp.CSS("#tab-sockets")))
	stop := time.Now().Add(25 * time.Second)
	for i := 0; time.Now().Before(stop); i++ {
		for k, c := range clients {
			if k%len(routes) != 3 && (i+k)%4 != 0 {
				c.Send(fmt.Sprintf("message %d", i))
				_, _ = c.Read()
			}
		}
		if i%25 == 0 && len(clients) < 22 {
			clients = append(clients, gwtest.Dial(t, ws(fmt.Sprintf("/chat/lobby?late=%d", i)), nil))
		}
		time.Sleep(40 * time.Millisecond) // a steady trickle of traffic for the charts
	}
	id := eval[string](b, `document.querySelector("#sockets tbody tr:nth-child(2)").dataset.id`)
	b.do("open a socket", chromedp.Click(chromedp.CSS(fmt.Sprintf(`#sockets tr[data-id=%q]`, id))))
	b.until("its details", fmt.Sprintf(`document.querySelector("#details-id").textContent === %q`, id))
	b.do("fill in a message",
		chromedp.SetValue(chromedp.CSS("#send-type"), "data-text"),
		chromedp.SetValue(chromedp.CSS("#send-message"), `{"type": "notice", "text": "maintenance at 18:00"}`),
		chromedp.Evaluate[chromedp.Void](`document.querySelector("#details").scrollTop = 0`))
	ctx, cancel := context.WithTimeout(b.ctx, waitFor)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(out, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s", out)
}

// TestShutdownEndsStatsStreams: an open stats stream (a console left open)
// does not hold up the admin listener's shutdown.
func TestShutdownEndsStatsStreams(t *testing.T) {
	srv, _ := startGateway(t, map[string]string{"gateway.yaml": baseConfig, "echo.js": echoJS})
	resp, err := http.Get("http://" + srv.adminAddr + "/api/v1/stats/stream")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if _, err := resp.Body.Read(make([]byte, 1)); err != nil {
		t.Fatalf("stream: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	if err := srv.admin.Shutdown(ctx); err != nil {
		t.Fatalf("admin shutdown with a stream open: %v", err)
	}
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		t.Fatalf("the stream ended with %v, want its end", err)
	}
}
