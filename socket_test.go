package wsgw_test

import (
	"testing"

	"github.com/wsgw/wsgw"
)

func TestValidCloseCode(t *testing.T) {
	for _, tc := range []struct {
		code int
		ok   bool
	}{
		{999, false}, {1000, true}, {1003, true}, {1004, false}, {1005, false}, {1006, false},
		{1007, true}, {1014, true}, {1015, false}, {2999, false}, {3000, true}, {4999, true}, {5000, false},
	} {
		if err := wsgw.ValidCloseCode(tc.code); (err == nil) != tc.ok {
			t.Errorf("ValidCloseCode(%d) = %v, want ok %v", tc.code, err, tc.ok)
		}
	}
}
