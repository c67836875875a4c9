package export

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// ErrExists is wrapped when an export's target is there already: nothing
// was written, and nothing is ever written over it.
var ErrExists = errors.New("exists already")

// File is an export file being written. The bytes go to a hidden temporary
// file beside Path; Commit puts it in place, never over an existing file,
// and Abort removes it, so a failed or cancelled export leaves no half file.
type File struct {
	Path string
	tmp  *os.File
	buf  *bufio.Writer
	done bool
}

// Create starts the export file path, which must not exist yet (an error
// wrapping ErrExists says so before anything is written).
func Create(path string) (*File, error) {
	if err := absent(path); err != nil {
		return nil, err
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+base+".*.tmp")
	if err != nil {
		return nil, fmt.Errorf("create a file in %s: %w", dir, err)
	}
	return &File{Path: path, tmp: tmp, buf: bufio.NewWriterSize(tmp, 64<<10)}, nil
}

// absent fails with ErrExists when path exists, even as a dangling link.
func absent(path string) error {
	_, err := os.Lstat(path)
	switch {
	case err == nil:
		return fmt.Errorf("%s %w", path, ErrExists)
	case errors.Is(err, fs.ErrNotExist):
		return nil
	}
	return fmt.Errorf("look at %s: %w", path, err)
}

// Write implements io.Writer.
func (f *File) Write(p []byte) (int, error) { return f.buf.Write(p) }

// Commit flushes the file to disk and puts it at Path. A file that appeared
// at Path meanwhile is kept, and the error wraps ErrExists. On any error
// the temporary file is removed.
func (f *File) Commit() error {
	if f.done {
		return errors.New("export file already committed or aborted")
	}
	err := f.buf.Flush()
	if err == nil {
		err = f.tmp.Sync()
	}
	if cerr := f.tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = placeNew(f.tmp.Name(), f.Path)
	}
	f.done = true
	os.Remove(f.tmp.Name()) // after a hard link, the name only; else the half file
	if err != nil && !errors.Is(err, ErrExists) {
		return fmt.Errorf("write %s: %w", f.Path, err)
	}
	return err
}

// Abort removes the temporary file; after Commit it does nothing.
func (f *File) Abort() {
	if f.done {
		return
	}
	f.done = true
	f.tmp.Close()
	os.Remove(f.tmp.Name())
}

// placeNew gives the file tmp the name path unless path exists. A hard link
// fails when the name is taken, atomically; where the file system has no
// hard links, a check then a rename has a moment's race, which is the best
// it allows.
func placeNew(tmp, path string) error {
	err := os.Link(tmp, path)
	if err == nil {
		return nil
	}
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%s %w", path, ErrExists)
	}
	if err := absent(path); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
