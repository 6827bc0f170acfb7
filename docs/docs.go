// Package docs embeds the documents the gateway serves.
package docs

import _ "embed"

// OpenAPI is the admin REST reference, served at GET /api/v1/openapi.yaml.
//
//go:embed openapi.yaml
var OpenAPI []byte
