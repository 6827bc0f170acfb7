package main

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"
)

// memSample is one reading of the target's memory.
type memSample struct {
	RSS      int64 // summed VmRSS of the --pid processes, bytes; 0 without --pid
	TCPPages int64 // pages the kernel holds for TCP sockets, machine-wide
}

// sampleMem reads VmRSS of each pid and the kernel's TCP memory.
func sampleMem(pids []int) (memSample, error) {
	var s memSample
	for _, pid := range pids {
		rss, err := readRSS(pid)
		if err != nil {
			return s, err
		}
		s.RSS += rss
	}
	pages, err := readTCPMemPages()
	if err != nil {
		return s, err
	}
	s.TCPPages = pages
	return s, nil
}

// readRSS returns VmRSS of pid in bytes from /proc/<pid>/status.
func readRSS(pid int) (int64, error) {
	path := fmt.Sprintf("/proc/%d/status", pid)
	v, err := procField(path, "VmRSS:", 1)
	if err != nil {
		return 0, err
	}
	return v * 1024, nil // the kernel reports kB
}

// readTCPMemPages returns the "mem" value of the TCP line of
// /proc/net/sockstat: pages allocated to TCP socket buffers on this machine,
// which on loopback includes both the clients' and the target's side.
func readTCPMemPages() (int64, error) {
	return procField("/proc/net/sockstat", "TCP:", -1)
}

// procField finds the line starting with key in path and parses the field
// after it at position pos (1 = the first value), or, with pos -1, the value
// following the word "mem".
func procField(path, key string, pos int) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("read %s: %w", path, err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 || fields[0] != key {
			continue
		}
		i := pos
		if pos < 0 {
			for j := 1; j+1 < len(fields); j++ {
				if fields[j] == "mem" {
					i = j + 1
				}
			}
		}
		if i < 1 || i >= len(fields) {
			break
		}
		v, err := strconv.ParseInt(fields[i], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("parse %s %s: %w", path, key, err)
		}
		return v, nil
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("read %s: %w", path, err)
	}
	return 0, fmt.Errorf("%s: no %q value", path, key)
}

// holdPhase runs the measured part of the idle scenario once all
// connections are up: wait --settle so the target finishes its per-connection
// work and the GC settles, read memory, then hold until --hold has passed.
func holdPhase(ctx context.Context, cfg *Config, before memSample, held int64) (*MemStats, error) {
	start := time.Now()
	slog.Info("all connections up; settling before reading memory", "held", held, "settle", cfg.Settle)
	sleepCtx(ctx, time.Duration(cfg.Settle))
	after, err := sampleMem(cfg.PIDs)
	if err != nil {
		return nil, err
	}
	sleepCtx(ctx, time.Duration(cfg.Hold)-time.Since(start))
	return memStats(cfg.PIDs, before, after, held), nil
}

// memStats turns two samples into per-connection figures.
func memStats(pids []int, before, after memSample, held int64) *MemStats {
	m := &MemStats{PIDs: pids, ConnsHeld: held, TCPMemBeforePages: before.TCPPages, TCPMemAfterPages: after.TCPPages}
	if len(pids) > 0 {
		m.RSSBeforeBytes, m.RSSAfterBytes = before.RSS, after.RSS
	}
	if held > 0 {
		if len(pids) > 0 {
			m.RSSPerConnBytes = float64(after.RSS-before.RSS) / float64(held)
			m.RSSPerConnKiB = m.RSSPerConnBytes / 1024
		}
		m.TCPMemPerConnB = float64((after.TCPPages-before.TCPPages)*int64(os.Getpagesize())) / float64(held)
	}
	return m
}
