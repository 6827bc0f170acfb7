package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"testing"
	"time"
)

// TestMain lets a test re-execute the test binary as a wsbench child
// process: with execEnv set, the binary runs main instead of the tests.
func TestMain(m *testing.M) {
	if os.Getenv(execEnv) == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

const execEnv = "WSBENCH_TEST_EXEC"

// startBaseline serves the in-process echo baseline on a free loopback port.
func startBaseline(t *testing.T) *echoServer {
	t.Helper()
	s, err := startEchoServer("127.0.0.1:0", false, true, &counters{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// runJSON runs wsbench with --json and decodes the summary.
func runJSON(t *testing.T, args ...string) *Report {
	t.Helper()
	var stdout, stderr bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := run(ctx, append(args, "--json"), &stdout, &stderr); err != nil {
		t.Fatalf("wsbench %v: %v\nstderr:\n%s", args, err, stderr.String())
	}
	var rep Report
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("decode summary: %v\n%s", err, stdout.String())
	}
	return &rep
}
