package export

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// ParquetDir writes a Parquet export partitioned by app, the Hive layout
// that DuckDB, ClickHouse and Spark read as it is:
//
//	DIR/app=NAME/part-00000.parquet
//	DIR/app=NAME/part-00001.parquet   (every PartRows rows)
//
// Each file holds every column of the contract, app included, so a file
// copied elsewhere keeps its meaning. The parts are written into a hidden
// staging folder inside DIR and each partition is moved into place when
// Close has finished all of them: a failed export leaves no half file and
// no half partition. A partition that exists already with anything in it
// is refused before anything is written.
type ParquetDir struct {
	dir, stage string
	opts       ParquetOptions
	parts      map[string]*dirPart
	apps       []string
	files      []string
}

// dirPart is the partition of one app being written.
type dirPart struct {
	name string // app=NAME
	next int    // number of the next part file
	file *os.File
	buf  *bufio.Writer
	w    *ParquetWriter
}

// CreateParquetDir starts an export into dir (created when missing) of the
// rows of apps. It fails, wrapping ErrExists, when the partition of any of
// them holds files already.
func CreateParquetDir(dir string, apps []string, opts ParquetOptions) (*ParquetDir, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create the folder %s: %w", dir, err)
	}
	d := &ParquetDir{dir: dir, opts: opts, parts: map[string]*dirPart{}}
	for _, app := range apps {
		if _, ok := d.parts[app]; ok {
			continue
		}
		name := PartitionName(app)
		if err := emptyOrAbsent(filepath.Join(dir, name)); err != nil {
			return nil, err
		}
		d.parts[app] = &dirPart{name: name}
		d.apps = append(d.apps, app)
	}
	stage, err := os.MkdirTemp(dir, ".wxscope-export-*")
	if err != nil {
		return nil, fmt.Errorf("create a staging folder in %s: %w", dir, err)
	}
	d.stage = stage
	return d, nil
}

// PartitionName is the folder of app's rows: app=NAME, with every byte
// other than a letter, a digit, '.', '-' or '_' escaped as %XX, as Hive
// escapes partition values (config names never need it).
func PartitionName(app string) string {
	var b strings.Builder
	b.WriteString("app=")
	for i := 0; i < len(app); i++ {
		c := app[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '-', c == '_':
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// emptyOrAbsent fails with ErrExists unless path is missing or an empty
// folder.
func emptyOrAbsent(path string) error {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("look at %s: %w", path, err)
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && !st.IsDir() {
		return fmt.Errorf("%s %w (a file, not a partition folder)", path, ErrExists)
	}
	if _, err := f.Readdirnames(1); errors.Is(err, io.EOF) {
		return nil
	}
	return fmt.Errorf("%s %w with files in it", path, ErrExists)
}

// Write implements Writer: the row goes to the partition of its app, one
// of the apps given to CreateParquetDir.
func (d *ParquetDir) Write(r *Row) error {
	p, ok := d.parts[r.App]
	if !ok {
		return fmt.Errorf("a row of app %q, which this export was not started for", r.App)
	}
	if p.w == nil || p.w.Rows() >= d.opts.partRows() {
		if err := d.roll(p); err != nil {
			return err
		}
	}
	return p.w.Write(r)
}

// roll finishes p's current part file, if any, and starts the next.
func (d *ParquetDir) roll(p *dirPart) error {
	if err := d.finish(p); err != nil {
		return err
	}
	folder := filepath.Join(d.stage, p.name)
	if err := os.MkdirAll(folder, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", folder, err)
	}
	name := fmt.Sprintf("part-%05d.parquet", p.next)
	f, err := os.OpenFile(filepath.Join(folder, name), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("create a part of %s: %w", p.name, err)
	}
	p.next++
	p.file, p.buf = f, bufio.NewWriterSize(f, 256<<10)
	p.w = NewParquet(p.buf, d.opts)
	d.files = append(d.files, filepath.Join(d.dir, p.name, name))
	return nil
}

// finish writes the footer of p's open part file and closes it.
func (d *ParquetDir) finish(p *dirPart) error {
	if p.w == nil {
		return nil
	}
	err := p.w.Close()
	if err == nil {
		err = p.buf.Flush()
	}
	if err == nil {
		err = p.file.Sync()
	}
	if cerr := p.file.Close(); err == nil {
		err = cerr
	}
	p.w, p.buf, p.file = nil, nil, nil
	if err != nil {
		return fmt.Errorf("write a part of %s: %w", p.name, err)
	}
	return nil
}

// Files are the part files written, at the paths where Close puts them.
func (d *ParquetDir) Files() []string { return d.files }

// Close implements Writer: it finishes every part and moves each partition
// into place. On an error nothing more is moved and the staging folder is
// removed.
func (d *ParquetDir) Close() error {
	for _, app := range d.apps {
		if err := d.finish(d.parts[app]); err != nil {
			d.Abort()
			return err
		}
	}
	for _, app := range d.apps {
		p := d.parts[app]
		if p.next == 0 {
			continue // no row: no partition
		}
		target := filepath.Join(d.dir, p.name)
		if err := emptyOrAbsent(target); err != nil {
			d.Abort()
			return err
		}
		os.Remove(target) // an empty folder left by an earlier export
		if err := os.Rename(filepath.Join(d.stage, p.name), target); err != nil {
			d.Abort()
			return fmt.Errorf("move %s into place: %w", target, err)
		}
	}
	return os.RemoveAll(d.stage)
}

// Abort closes every open part and removes the staging folder: nothing of
// an unfinished export stays.
func (d *ParquetDir) Abort() {
	for _, p := range d.parts {
		if p.file != nil {
			p.file.Close()
			p.w, p.buf, p.file = nil, nil, nil
		}
	}
	os.RemoveAll(d.stage)
}
