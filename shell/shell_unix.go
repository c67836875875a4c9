//go:build unix

package shell

import (
	"errors"
	"os/exec"
	"syscall"
)

// command runs line with /bin/sh -c, as system(3) does.
func command(line string) *exec.Cmd {
	return exec.Command("/bin/sh", "-c", line)
}

// startGroup starts cmd as the leader of a new process group: everything
// it starts (a pipeline, a background job) is in that group unless it
// leaves on purpose (setsid, setpgid).
func startGroup(cmd *exec.Cmd) (group, error) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	return unixGroup(cmd.Process.Pid), nil
}

// unixGroup is a process group id. The kernel does not hand out a pid
// while a group of that id has members, so signalling it after the leader
// is gone reaches only what the leader left.
type unixGroup int

func (g unixGroup) kill() error {
	err := syscall.Kill(-int(g), syscall.SIGKILL)
	if errors.Is(err, syscall.ESRCH) {
		return nil
	}
	return err
}

func (g unixGroup) alive() bool {
	err := syscall.Kill(-int(g), 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

func (unixGroup) release() {}
