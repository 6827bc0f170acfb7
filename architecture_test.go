package wsgw_test

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestImportsPointDown keeps the dependencies one-way (docs/architecture.md):
// each package of the module may depend only on those below it, and only
// cmd/gateway builds the concrete stores. It checks what each package's
// code (not its tests) imports, directly or not, with go list.
func TestImportsPointDown(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}}{{range .Deps}} {{.}}{{end}}", "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	const mod = "github.com/wsgw/wsgw"
	deps := map[string][]string{}
	for line := range strings.Lines(string(out)) {
		fields := strings.Fields(line)
		deps[strings.TrimPrefix(fields[0], mod)] = fields[1:]
	}
	upper := []string{"/cmd/", "/config", "/handlers", "/gateway", "/deploy", "/service", "/runtime", "/store/memory", "/store/redis"}
	forbidden := map[string][]string{
		"":              append(upper, "/store", "net/http", "github.com/lxzan/gws", "github.com/dop251/goja", "github.com/redis/go-redis/v9"),
		"/store":        upper,
		"/store/memory": without(upper, "/store/memory"),
		"/store/redis":  without(upper, "/store/redis"),
		"/runtime":      append(without(upper, "/runtime"), "/store", "github.com/lxzan/gws", "github.com/redis/go-redis/v9"),
		"/service":      without(upper, "/service"),
		"/deploy":       without(upper, "/deploy", "/runtime"),
		"/gateway":      without(upper, "/gateway", "/deploy", "/runtime"),
		"/handlers":     append(without(upper, "/handlers"), "/store"),
		"/config":       without(upper, "/config", "/gateway", "/deploy", "/runtime", "/store/redis"),
	}
	for pkg, bad := range forbidden {
		got, ok := deps[pkg]
		if !ok {
			t.Errorf("package %q is not in the module any more: update this test", mod+pkg)
			continue
		}
		for _, dep := range got {
			name := strings.TrimPrefix(dep, mod)
			if slices.ContainsFunc(bad, func(b string) bool {
				return name == b || (strings.HasSuffix(b, "/") && strings.HasPrefix(name, b)) || strings.HasPrefix(name, b+"/")
			}) && name != pkg {
				t.Errorf("%s imports %s: the arrow points up (docs/architecture.md)", mod+pkg, dep)
			}
		}
	}
}

// without returns list less the names given.
func without(list []string, names ...string) []string {
	return slices.DeleteFunc(slices.Clone(list), func(s string) bool { return slices.Contains(names, s) })
}
