//go:build windows

package shell

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"unsafe"

	"golang.org/x/sys/windows"
)

// command runs line with cmd.exe /d /s /c "line". The command line is
// given whole (SysProcAttr.CmdLine): Go's own quoting of arguments follows
// the C runtime's rules, which cmd.exe does not, and would mangle the
// user's quotes. With /s, cmd.exe drops only the outer pair of quotes and
// runs the rest as written; /d skips AutoRun commands from the registry.
func command(line string) *exec.Cmd {
	comspec := os.Getenv("ComSpec")
	if !filepath.IsAbs(comspec) {
		comspec = filepath.Join(os.Getenv("SystemRoot"), "System32", "cmd.exe")
	}
	cmd := exec.Command(comspec)
	cmd.SysProcAttr = &syscall.SysProcAttr{
		CmdLine: `"` + comspec + `" /d /s /c "` + line + `"`,
	}
	return cmd
}

// startGroup starts cmd suspended in a new process group, puts it in a new
// job object before it runs a single instruction, and lets it run. Every
// process it starts is then in the job (Windows 8 and later nest jobs),
// and TerminateJobObject ends them all: the process tree, without the
// races of walking it.
func startGroup(cmd *exec.Cmd) (group, error) {
	cmd.SysProcAttr.CreationFlags |= windows.CREATE_NEW_PROCESS_GROUP | windows.CREATE_SUSPENDED
	job, err := windows.CreateJobObject(nil, nil)
	if err != nil {
		return nil, fmt.Errorf("making a job object: %w", err)
	}
	if err := cmd.Start(); err != nil {
		windows.CloseHandle(job)
		return nil, err
	}
	if err := enterJob(job, uint32(cmd.Process.Pid)); err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		windows.CloseHandle(job)
		return nil, err
	}
	return jobGroup(job), nil
}

// enterJob puts the suspended process pid in job and resumes its thread.
func enterJob(job windows.Handle, pid uint32) error {
	proc, err := windows.OpenProcess(windows.PROCESS_SET_QUOTA|windows.PROCESS_TERMINATE, false, pid)
	if err != nil {
		return fmt.Errorf("opening the shell's process: %w", err)
	}
	err = windows.AssignProcessToJobObject(job, proc)
	windows.CloseHandle(proc)
	if err != nil {
		return fmt.Errorf("putting the shell in a job object: %w", err)
	}
	return resume(pid)
}

// resume resumes the threads of a process started suspended: its one
// thread. os/exec closes the thread handle it got from CreateProcess, so
// the thread is found by a snapshot.
func resume(pid uint32) error {
	snap, err := windows.CreateToolhelp32Snapshot(windows.TH32CS_SNAPTHREAD, 0)
	if err != nil {
		return fmt.Errorf("listing the shell's threads: %w", err)
	}
	defer windows.CloseHandle(snap)
	entry := windows.ThreadEntry32{Size: uint32(unsafe.Sizeof(windows.ThreadEntry32{}))}
	resumed := 0
	for err = windows.Thread32First(snap, &entry); err == nil; err = windows.Thread32Next(snap, &entry) {
		if entry.OwnerProcessID != pid {
			continue
		}
		th, err := windows.OpenThread(windows.THREAD_SUSPEND_RESUME, false, entry.ThreadID)
		if err != nil {
			return fmt.Errorf("opening the shell's thread: %w", err)
		}
		_, err = windows.ResumeThread(th)
		windows.CloseHandle(th)
		if err != nil {
			return fmt.Errorf("resuming the shell's thread: %w", err)
		}
		resumed++
	}
	if !errors.Is(err, windows.ERROR_NO_MORE_FILES) {
		return fmt.Errorf("listing the shell's threads: %w", err)
	}
	if resumed == 0 {
		return errors.New("the shell's thread was not found to resume it")
	}
	return nil
}

// jobGroup is a job object holding the command's processes.
type jobGroup windows.Handle

func (g jobGroup) kill() error {
	return windows.TerminateJobObject(windows.Handle(g), 1)
}

// release closes the job's handle; without JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE
// its processes go on, as on Unix.
func (g jobGroup) release() { windows.CloseHandle(windows.Handle(g)) }

var procPeekNamedPipe = windows.NewLazySystemDLL("kernel32.dll").NewProc("PeekNamedPipe")

// stateOf peeks at the read end of a pipe without reading: a broken pipe
// has no writer left; bytes available are data; none is a writer holding
// it open, idle.
func stateOf(f *os.File) pipeState {
	rc, err := f.SyscallConn()
	if err != nil {
		return pipeClosed
	}
	state := pipeClosed
	rc.Control(func(fd uintptr) {
		var avail uint32
		ok, _, _ := procPeekNamedPipe.Call(fd, 0, 0, 0, uintptr(unsafe.Pointer(&avail)), 0)
		switch {
		case ok == 0: // ERROR_BROKEN_PIPE: every writer is gone
		case avail > 0:
			state = pipeData
		default:
			state = pipeIdle
		}
	})
	return state
}
