//go:build unix

package shell

import (
	"errors"
	"os"
	"os/exec"
	"syscall"

	"golang.org/x/sys/unix"
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

func (unixGroup) release() {}

// stateOf polls the read end of a pipe without waiting: readable with
// POLLHUP is no writer left; readable alone is data (or, where the system
// does not report POLLHUP for pipes, the end: looked at again later);
// nothing at all is a writer holding it open, idle.
func stateOf(f *os.File) pipeState {
	rc, err := f.SyscallConn()
	if err != nil {
		return pipeClosed
	}
	state := pipeClosed
	rc.Control(func(fd uintptr) {
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		n, err := unix.Poll(fds, 0)
		switch ev := fds[0].Revents; {
		case err != nil:
		case n == 0 || ev == 0:
			state = pipeIdle
		case ev&(unix.POLLHUP|unix.POLLERR|unix.POLLNVAL) != 0:
		default:
			state = pipeData
		}
	})
	return state
}
