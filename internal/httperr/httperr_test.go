package httperr_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"testing"

	"github.com/wsgw/wsgw"
	"github.com/wsgw/wsgw/internal/httperr"
)

func TestWrite(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want httperr.Body
	}{
		{wsgw.Errorf(wsgw.ENotFound, "no socket x"), httperr.Body{Type: "not_found", Error: "no socket x", Status: 404}},
		{fmt.Errorf("wrapped: %w", wsgw.Errorf(wsgw.EUnavailable, "later")), httperr.Body{Type: "unavailable", Error: "later", Status: 503}},
		{errors.New("a secret detail"), httperr.Body{Type: "internal", Error: "internal error", Status: 500}},
	} {
		rec := httptest.NewRecorder()
		httperr.Write(rec, tc.err)
		var got httperr.Body
		if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
			t.Fatal(err)
		}
		if rec.Code != tc.want.Status || got != tc.want || rec.Header().Get("Content-Type") != "application/json" {
			t.Errorf("Write(%v) = %d %s %+v, want %+v", tc.err, rec.Code, rec.Header().Get("Content-Type"), got, tc.want)
		}
	}
	if s := httperr.Status(nil); s != 200 {
		t.Errorf("Status(nil) = %d, want 200", s)
	}
}
