// Package proc asks the operating system about other processes.
package proc

// Alive reports whether a process with this pid exists now. It is for
// advice such as "who holds this file": a pid can be reused once its process
// is gone, so a true may name a newer process. A pid of 0 or less is never
// alive (on Unix those would address process groups).
func Alive(pid int) bool {
	if pid <= 0 {
		return false
	}
	return alive(pid)
}
