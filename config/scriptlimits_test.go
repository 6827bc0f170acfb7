package config_test

import (
	"strings"
	"testing"

	"github.com/wsgw/wsgw/config"
)

// TestScriptLimitKeys reads the script safety keys, their defaults, their
// WSGW_* overrides and their refusals.
func TestScriptLimitKeys(t *testing.T) {
	cfg, err := config.Load(writeConfig(t, minimal), nil)
	if err != nil {
		t.Fatal(err)
	}
	if l := cfg.Limits; l.Script.MaxMemory != 64<<20 || l.ScriptWorkersPerEndpoint != 0 || l.MaxScriptInterrupts != 3 || cfg.Runtime.MemoryLimit != 0 || cfg.Runtime.GCMinHeap != 64<<20 {
		t.Fatalf("defaults: %+v, runtime %+v", l, cfg.Runtime)
	}
	yaml := "limits: {script_memory: 8388608, script_workers_per_endpoint: 2, max_script_interrupts: 5}\nruntime: {memory_limit: 1073741824}\n" + minimal
	if cfg, err = config.Load(writeConfig(t, yaml), []string{"WSGW_LIMITS_MAX_SCRIPT_INTERRUPTS=7", "WSGW_RUNTIME_GC_MIN_HEAP=0"}); err != nil {
		t.Fatal(err)
	}
	if l := cfg.Limits; l.Script.MaxMemory != 8<<20 || l.ScriptWorkersPerEndpoint != 2 || l.MaxScriptInterrupts != 7 || cfg.Runtime.MemoryLimit != 1<<30 || cfg.Runtime.GCMinHeap != 0 {
		t.Fatalf("from the file and env: %+v, runtime %+v", l, cfg.Runtime)
	}
	for _, tc := range []struct{ yaml, key string }{
		{"limits: {script_memory: 1000}\n", "limits.script_memory"},
		{"limits: {script_workers_per_endpoint: -1}\n", "limits.script_workers_per_endpoint"},
		{"limits: {max_script_interrupts: 0}\n", "limits.max_script_interrupts"},
		{"runtime: {memory_limit: -5}\n", "runtime.memory_limit"},
		{"runtime: {gc_min_heap: -1}\n", "runtime.gc_min_heap"},
	} {
		if _, err := config.Load(writeConfig(t, tc.yaml+minimal), nil); err == nil || !strings.Contains(err.Error(), tc.key) {
			t.Errorf("%q: error %v, want one naming %s", tc.yaml, err, tc.key)
		}
	}
}
