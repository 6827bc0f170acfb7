package config

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// StringList is a setting that takes one string or a list of them.
type StringList []string

// String joins the list with commas, as an environment override spells it.
func (l StringList) String() string { return strings.Join(l, ",") }

var (
	durationType   = reflect.TypeFor[time.Duration]()
	stringListType = reflect.TypeFor[StringList]()
)

// decodeYAML walks the YAML document into v itself (rather than through
// yaml.Unmarshal) so that every error names the line and the full key, and
// unknown keys, bare numbers for durations and wrong kinds are refused.
func decodeYAML(data []byte, file string, v any) error {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return nil // an empty file keeps the defaults
	}
	d := decoder{file: file}
	return d.decode(doc.Content[0], reflect.ValueOf(v).Elem(), "")
}

type decoder struct{ file string }

func (d decoder) errorf(n *yaml.Node, key, format string, args ...any) error {
	if key == "" {
		key = "(top level)"
	}
	return fmt.Errorf("%s:%d: %s: %s", d.file, n.Line, key, fmt.Sprintf(format, args...))
}

func (d decoder) decode(n *yaml.Node, v reflect.Value, key string) error {
	if n.Kind == yaml.AliasNode {
		return d.errorf(n, key, "YAML aliases are not supported")
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		v.SetZero()
		return nil
	}
	switch {
	case v.Kind() == reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		return d.decode(n, v.Elem(), key)
	case v.Type() == stringListType:
		return d.decodeStringList(n, v, key)
	case v.Kind() == reflect.Struct && v.Type() != durationType:
		return d.decodeStruct(n, v, key)
	case v.Kind() == reflect.Slice:
		return d.decodeSlice(n, v, key)
	}
	if n.Kind != yaml.ScalarNode {
		return d.errorf(n, key, "want a single value, found a %s", kindName(n.Kind))
	}
	if err := setScalar(v, n.Value); err != nil {
		return d.errorf(n, key, "%v", err)
	}
	return nil
}

func (d decoder) decodeStruct(n *yaml.Node, v reflect.Value, key string) error {
	if n.Kind != yaml.MappingNode {
		return d.errorf(n, key, "want a mapping of keys, found a %s", kindName(n.Kind))
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		sub := joinKey(key, k.Value)
		if seen[k.Value] {
			return d.errorf(k, sub, "key appears twice")
		}
		seen[k.Value] = true
		field, ok := fieldByTag(v, k.Value)
		if !ok {
			return d.errorf(k, sub, "unknown key (known: %s)", strings.Join(tags(v), ", "))
		}
		if err := d.decode(val, field, sub); err != nil {
			return err
		}
	}
	return nil
}

func (d decoder) decodeSlice(n *yaml.Node, v reflect.Value, key string) error {
	if n.Kind != yaml.SequenceNode {
		return d.errorf(n, key, "want a list, found a %s", kindName(n.Kind))
	}
	out := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, item := range n.Content {
		if err := d.decode(item, out.Index(i), fmt.Sprintf("%s[%d]", key, i)); err != nil {
			return err
		}
	}
	v.Set(out)
	return nil
}

func (d decoder) decodeStringList(n *yaml.Node, v reflect.Value, key string) error {
	switch n.Kind {
	case yaml.ScalarNode:
		return setScalar(v, n.Value)
	case yaml.SequenceNode:
		return d.decodeSlice(n, v, key)
	}
	return d.errorf(n, key, "want a string or a list of strings, found a %s", kindName(n.Kind))
}

// setScalar parses s into v by v's type: the one parser for YAML values and
// environment overrides.
func setScalar(v reflect.Value, s string) error {
	switch {
	case v.Type() == durationType:
		dur, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("%q is not a duration (write it with a unit: 500ms, 60s, 5m)", s)
		}
		v.SetInt(int64(dur))
	case v.Type() == stringListType:
		var list StringList
		for _, part := range strings.Split(s, ",") {
			if part = strings.TrimSpace(part); part != "" {
				list = append(list, part)
			}
		}
		v.Set(reflect.ValueOf(list))
	case v.Kind() == reflect.String:
		v.SetString(s)
	case v.Kind() == reflect.Int || v.Kind() == reflect.Int64:
		i, err := strconv.Atoi(s)
		if err != nil {
			return fmt.Errorf("%q is not a whole number", s)
		}
		v.SetInt(int64(i))
	case v.Kind() == reflect.Float64:
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return fmt.Errorf("%q is not a number", s)
		}
		v.SetFloat(f)
	case v.Kind() == reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return fmt.Errorf("%q is not true or false", s)
		}
		v.SetBool(b)
	default:
		return fmt.Errorf("cannot be set from a single value")
	}
	return nil
}

// ApplyEnv applies WSGW_<KEY> overrides, where KEY is the upper-cased key path
// joined by underscores (WSGW_LIMITS_BURST, WSGW_ADMIN_TOKEN, WSGW_STORE_REDIS).
// Lists of endpoints cannot be overridden.
func (c *Config) ApplyEnv(environ []string) error {
	env := map[string]string{}
	for _, kv := range environ {
		if k, val, ok := strings.Cut(kv, "="); ok && strings.HasPrefix(k, "WSGW_") {
			env[k] = val
		}
	}
	if len(env) == 0 {
		return nil
	}
	return c.applyEnv(reflect.ValueOf(c).Elem(), "WSGW", "", env)
}

func (c *Config) applyEnv(v reflect.Value, prefix, key string, env map[string]string) error {
	for _, f := range fields(v) {
		tag, field := f.tag, f.value
		name := prefix + "_" + strings.ToUpper(tag)
		if field.Kind() == reflect.Struct && field.Type() != durationType {
			if err := c.applyEnv(field, name, joinKey(key, tag), env); err != nil {
				return err
			}
			continue
		}
		s, ok := env[name]
		if !ok {
			continue
		}
		if field.Kind() == reflect.Slice && field.Type() != stringListType {
			return fmt.Errorf("environment %s: %s cannot be set from the environment", name, tag)
		}
		if err := setScalar(field, s); err != nil {
			return fmt.Errorf("environment %s: %w", name, err)
		}
		c.SetBy(joinKey(key, tag), "environment "+name)
	}
	return nil
}

// field is a key of a mapping and the struct field it is read into.
type field struct {
	tag   string
	value reflect.Value
}

// fields lists the keys of the struct v by their yaml tags, those of a
// field tagged ",inline" (a type another package owns, such as
// gateway.Limits) among its own.
func fields(v reflect.Value) []field {
	var out []field
	t := v.Type()
	for i := range t.NumField() {
		name, opts, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		switch {
		case opts == "inline":
			out = append(out, fields(v.Field(i))...)
		case name != "" && name != "-":
			out = append(out, field{name, v.Field(i)})
		}
	}
	return out
}

func fieldByTag(v reflect.Value, tag string) (reflect.Value, bool) {
	for _, f := range fields(v) {
		if f.tag == tag {
			return f.value, true
		}
	}
	return reflect.Value{}, false
}

func tags(v reflect.Value) []string {
	var out []string
	for _, f := range fields(v) {
		out = append(out, f.tag)
	}
	return out
}

func joinKey(parent, key string) string {
	if parent == "" {
		return key
	}
	return parent + "." + key
}

func kindName(k yaml.Kind) string {
	switch k {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	case yaml.ScalarNode:
		return "single value"
	}
	return "value"
}
