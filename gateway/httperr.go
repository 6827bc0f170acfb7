package gateway

import (
	"encoding/json"
	"net/http"

	"github.com/wsgw/wsgw"
)

// upgradeErrorTypes name the refusals of the public listener that have no
// application error code.
var upgradeErrorTypes = map[int]string{
	http.StatusNotFound:           wsgw.ENotFound,
	http.StatusUpgradeRequired:    "upgrade_required",
	http.StatusForbidden:          "forbidden",
	http.StatusTooManyRequests:    "too_many_requests",
	http.StatusServiceUnavailable: wsgw.EUnavailable,
}

// writeJSONError answers a refused upgrade in the SPEC's error shape.
func writeJSONError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(wsgw.ErrorBody{Type: upgradeErrorTypes[status], Error: msg, Status: status})
}
