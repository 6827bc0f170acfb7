package deploy

import (
	"fmt"
	"net/url"
	"strings"
)

// router matches request paths to endpoints. Patterns are made of literal
// segments and {name} segments that match exactly one non-empty segment; at
// every segment a literal match is tried before a parameter.
type router struct {
	root node
}

type node struct {
	literal   map[string]*node
	param     *node
	paramName string
	endpoint  *Endpoint
}

// parsePattern splits an endpoint path into segments, checking its syntax.
func parsePattern(path string) ([]string, error) {
	if !strings.HasPrefix(path, "/") {
		return nil, fmt.Errorf("path %q must start with /", path)
	}
	if path == "/" {
		return nil, nil
	}
	segs := strings.Split(path[1:], "/")
	names := map[string]bool{}
	for _, s := range segs {
		if s == "" {
			return nil, fmt.Errorf("path %q has an empty segment", path)
		}
		name, isParam := paramName(s)
		if !isParam {
			if strings.ContainsAny(s, "{}") {
				return nil, fmt.Errorf("path %q: segment %q mixes text and a {parameter}; a parameter is a whole segment", path, s)
			}
			if _, err := url.PathUnescape(s); err != nil {
				return nil, fmt.Errorf("path %q: segment %q: %v", path, s, err)
			}
			continue
		}
		if !validName(name) {
			return nil, fmt.Errorf("path %q: parameter name %q must be letters, digits and _, not starting with a digit", path, name)
		}
		if names[name] {
			return nil, fmt.Errorf("path %q: parameter {%s} appears twice", path, name)
		}
		names[name] = true
	}
	return segs, nil
}

func paramName(seg string) (string, bool) {
	if len(seg) >= 2 && seg[0] == '{' && seg[len(seg)-1] == '}' {
		return seg[1 : len(seg)-1], true
	}
	return "", false
}

func validName(name string) bool {
	if name == "" {
		return false
	}
	for i, r := range name {
		letter := r == '_' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z')
		if !letter && (i == 0 || r < '0' || r > '9') {
			return false
		}
	}
	return true
}

// add registers ep under its path. Two paths that differ only in parameter
// names would match the same requests and are refused.
func (rt *router) add(ep *Endpoint) error {
	segs, err := parsePattern(ep.path)
	if err != nil {
		return err
	}
	n := &rt.root
	for _, s := range segs {
		if name, ok := paramName(s); ok {
			if n.param == nil {
				n.param = &node{paramName: name}
			}
			n = n.param
			continue
		}
		lit, _ := url.PathUnescape(s)
		if n.literal == nil {
			n.literal = map[string]*node{}
		}
		next := n.literal[lit]
		if next == nil {
			next = &node{}
			n.literal[lit] = next
		}
		n = next
	}
	if n.endpoint != nil {
		return fmt.Errorf("path %q matches the same URLs as %q", ep.path, n.endpoint.path)
	}
	n.endpoint = ep
	return nil
}

// match returns the endpoint for an escaped request path and its path
// parameters, or nil.
func (rt *router) match(escapedPath string) (*Endpoint, map[string]string) {
	if !strings.HasPrefix(escapedPath, "/") {
		return nil, nil
	}
	var segs []string
	if escapedPath != "/" {
		segs = strings.Split(escapedPath[1:], "/")
	}
	for i, s := range segs {
		u, err := url.PathUnescape(s)
		if err != nil {
			return nil, nil
		}
		segs[i] = u
	}
	var values []string
	n := rt.root.lookup(segs, &values)
	if n == nil {
		return nil, nil
	}
	var params map[string]string
	if len(values) > 0 {
		params = make(map[string]string, len(values)/2)
		for i := 0; i+1 < len(values); i += 2 {
			params[values[i]] = values[i+1]
		}
	}
	return n.endpoint, params
}

// lookup walks segs from n, literal first; values collects name, value pairs.
func (n *node) lookup(segs []string, values *[]string) *node {
	if len(segs) == 0 {
		if n.endpoint != nil {
			return n
		}
		return nil
	}
	if next := n.literal[segs[0]]; next != nil {
		if found := next.lookup(segs[1:], values); found != nil {
			return found
		}
	}
	if n.param != nil && segs[0] != "" {
		mark := len(*values)
		*values = append(*values, n.param.paramName, segs[0])
		if found := n.param.lookup(segs[1:], values); found != nil {
			return found
		}
		*values = (*values)[:mark]
	}
	return nil
}
