package gateway

import (
	"encoding/json"
	"net/http"

	"github.com/wsgw/wsgw"
)

// upgradeErrorTypes are the error codes of the public listener's refusals,
// by their HTTP status.
var upgradeErrorTypes = map[int]string{
	http.StatusNotFound:           wsgw.ENotFound,
	http.StatusUpgradeRequired:    wsgw.EUpgradeRequired,
	http.StatusForbidden:          wsgw.EForbidden,
	http.StatusTooManyRequests:    wsgw.ETooManyRequests,
	http.StatusServiceUnavailable: wsgw.EUnavailable,
}

// writeJSONError answers a refused upgrade in the {type, error, status} shape.
func writeJSONError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(wsgw.NewErrorBody(wsgw.Errorf(upgradeErrorTypes[status], "%s", msg)))
}
