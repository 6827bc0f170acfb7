package handlers

import (
	"bytes"
	"encoding/json"
	"unicode/utf8"
)

// quickSend reads the send body almost every caller writes,
// {"message": "<text>", "type": "<type>"} with plain strings, without
// encoding/json's decoder, which costs more than the rest of a send. It
// takes only bodies whose meaning is plain: exactly the lowercase keys
// message (required) and type, each once, with string values free of
// escapes, control characters and invalid UTF-8, and nothing but
// whitespace around the object. For anything else ok is false and the
// caller decodes with encoding/json, so the answer to every body stays
// what the decoder says.
func quickSend(body []byte) (message json.RawMessage, typ *string, ok bool) {
	rest := skipSpace(body)
	if len(rest) == 0 || rest[0] != '{' {
		return nil, nil, false
	}
	rest = rest[1:]
	for {
		var key, value []byte
		if key, rest, ok = plainJSONString(skipSpace(rest)); !ok {
			return nil, nil, false
		}
		if rest = skipSpace(rest); len(rest) == 0 || rest[0] != ':' {
			return nil, nil, false
		}
		start := skipSpace(rest[1:])
		if value, rest, ok = plainJSONString(start); !ok {
			return nil, nil, false
		}
		switch {
		case string(key) == "message" && message == nil:
			message = start[:len(value)+2] // with its quotes
		case string(key) == "type" && typ == nil:
			s := string(value)
			typ = &s
		default:
			return nil, nil, false
		}
		if rest = skipSpace(rest); len(rest) == 0 {
			return nil, nil, false
		}
		switch rest[0] {
		case ',':
			rest = rest[1:]
			continue
		case '}':
			if len(skipSpace(rest[1:])) != 0 || message == nil {
				return nil, nil, false
			}
			return message, typ, true
		}
		return nil, nil, false
	}
}

// plainJSONString reads a JSON string at the start of b that has no
// escapes or control characters and is valid UTF-8, and returns its
// contents and what follows it.
func plainJSONString(b []byte) (s, rest []byte, ok bool) {
	if len(b) == 0 || b[0] != '"' {
		return nil, nil, false
	}
	end := bytes.IndexByte(b[1:], '"')
	if end < 0 {
		return nil, nil, false
	}
	s = b[1 : 1+end]
	for _, c := range s {
		if c < 0x20 || c == '\\' {
			return nil, nil, false
		}
	}
	if !utf8.Valid(s) {
		return nil, nil, false
	}
	return s, b[2+end:], true
}

// skipSpace drops JSON whitespace from the start of b.
func skipSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t' || b[0] == '\n' || b[0] == '\r') {
		b = b[1:]
	}
	return b
}
