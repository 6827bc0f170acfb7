package exampletest

import "syscall"

// sysProcAttr has the kernel kill the gateway if the test process dies
// without stopping it (a panic, a global timeout), so no example outlives
// its test.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
