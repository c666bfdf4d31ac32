package sites

import (
	"os/exec"
	"syscall"
)

// dieWithTest makes an etcd started by a test end with the test binary,
// also when the binary is killed before its cleanups run.
func dieWithTest(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
