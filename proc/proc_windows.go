//go:build windows

package proc

import (
	"errors"

	"golang.org/x/sys/windows"
)

// stillActive is STILL_ACTIVE, the exit code GetExitCodeProcess reports
// for a process that is running (x/sys/windows does not name it).
const stillActive = 259

// alive opens the process with the least rights that answer the question.
// OpenProcess also succeeds for a process that has exited while some handle
// to it stays open, hence the exit code; and a process may itself exit with
// the code 259, hence the wait on its handle, which is signalled once it
// ends. Access denied means the process exists but is not ours to query (a
// protected or another user's process).
func alive(pid int) bool {
	h, err := windows.OpenProcess(windows.PROCESS_QUERY_LIMITED_INFORMATION|windows.SYNCHRONIZE, false, uint32(pid))
	if err != nil {
		return errors.Is(err, windows.ERROR_ACCESS_DENIED)
	}
	defer windows.CloseHandle(h)
	var code uint32
	if err := windows.GetExitCodeProcess(h, &code); err != nil {
		return true // it opened, so it exists; whether it still runs is unknown
	}
	if code != stillActive {
		return false
	}
	ev, err := windows.WaitForSingleObject(h, 0)
	return err != nil || ev == uint32(windows.WAIT_TIMEOUT)
}
