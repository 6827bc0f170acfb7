package examples_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// testFunc finds the tests of a Go file.
var testFunc = regexp.MustCompile(`(?m)^func (Test\w+)\(t \*testing\.T\)`)

// TestEveryExampleIsComplete keeps the examples of the systems wsgw is
// modelled on alike: each folder has its gateway.yaml, a README.md that
// names every test of the folder, and tests; examples/README.md has its row
// with the command that runs it and the one that tests it.
func TestEveryExampleIsComplete(t *testing.T) {
	index, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	dirs, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, d := range dirs {
		if !d.IsDir() {
			continue
		}
		n++
		name := d.Name()
		t.Run(name, func(t *testing.T) {
			if _, err := os.Stat(filepath.Join(name, "gateway.yaml")); err != nil {
				t.Errorf("no gateway.yaml: %v", err)
			}
			readme, err := os.ReadFile(filepath.Join(name, "README.md"))
			if err != nil {
				t.Fatalf("no README.md: %v", err)
			}
			files, err := filepath.Glob(filepath.Join(name, "*_test.go"))
			if err != nil || len(files) == 0 {
				t.Fatalf("no test: %v", err)
			}
			for _, f := range files {
				src, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				for _, m := range testFunc.FindAllSubmatch(src, -1) {
					if !strings.Contains(string(readme), string(m[1])) {
						t.Errorf("README.md does not name %s (%s): say what it proves", m[1], f)
					}
				}
			}
			for _, want := range []string{
				"(" + name + "/)",
				"--config examples/" + name + "/gateway.yaml`",
				"`go test ./examples/" + name + "`",
			} {
				if !strings.Contains(string(index), want) {
					t.Errorf("examples/README.md: the row of %s/ lacks %s", name, want)
				}
			}
		})
	}
	if n == 0 {
		t.Fatal("no example folder found")
	}
}
