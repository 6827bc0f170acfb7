// Package docs embeds the documents the gateway serves.
package docs

import (
	_ "embed"

	"gopkg.in/yaml.v3"
)

// OpenAPI is the admin REST reference, served at GET /api/v1/openapi.yaml.
//
//go:embed openapi.yaml
var OpenAPI []byte

// ErrorTypes is the enum of the Error schema's type in OpenAPI: every error
// type the API and scripts may answer with.
func ErrorTypes() ([]string, error) {
	var doc struct {
		Components struct {
			Schemas struct {
				Error struct {
					Properties struct {
						Type struct {
							Enum []string `yaml:"enum"`
						} `yaml:"type"`
					} `yaml:"properties"`
				} `yaml:"Error"`
			} `yaml:"schemas"`
		} `yaml:"components"`
	}
	if err := yaml.Unmarshal(OpenAPI, &doc); err != nil {
		return nil, err
	}
	return doc.Components.Schemas.Error.Properties.Type.Enum, nil
}
