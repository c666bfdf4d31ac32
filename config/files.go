package config

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"
)

// Size limits of the files a configuration reads. A limit keeps a hostile or
// mistaken file (a huge log, /dev/zero behind a symbolic link) from
// exhausting memory at start-up or on reload.
const (
	// MaxConfigSize is the most HCL Load reads for one configuration: the
	// file, or every *.hcl file of the directory together. 100,000
	// services of the kinds in examples/ are 19 to 31 MB.
	MaxConfigSize = 64 << 20
	// MaxZoneFileSize is the largest zone master file a configuration may
	// name.
	MaxZoneFileSize = 64 << 20
	// MaxSecretFileSize is the largest token, password or TSIG secret file.
	MaxSecretFileSize = 64 << 10
	// MaxCertFileSize is the largest TLS certificate or key file.
	MaxCertFileSize = 1 << 20
)

// ErrNotRegular is wrapped by the errors of OpenRegularFile and
// ReadRegularFile for anything that is not a regular file (a directory, a
// named pipe, a device, a socket).
var ErrNotRegular = errors.New("not a regular file")

// ErrTooLarge is wrapped by the errors of OpenRegularFile and
// ReadRegularFile for a file over the size limit.
var ErrTooLarge = errors.New("file too large")

// OpenRegularFile opens path for reading and checks that it is a regular
// file of at most max bytes. The open does not block: a named pipe with no
// writer, which would otherwise hang start-up or a reload until a writer
// appears, is reported as not a regular file. The caller closes the file.
func OpenRegularFile(path string, max int64) (*os.File, fs.FileInfo, error) {
	// O_NONBLOCK matters for named pipes only: a regular file ignores it.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, nil, fmt.Errorf("%s: %w (%s)", path, ErrNotRegular, fileKind(st.Mode()))
	}
	if st.Size() > max {
		f.Close()
		return nil, nil, fmt.Errorf("%s: %w: %d bytes, the limit is %s", path, ErrTooLarge, st.Size(), byteSize(max))
	}
	return f, st, nil
}

// ReadRegularFile reads the whole of path with the checks of
// OpenRegularFile; a file that grows past max while it is read is reported
// too large rather than read on.
func ReadRegularFile(path string, max int64) ([]byte, error) {
	f, st, err := OpenRegularFile(path, max)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b := make([]byte, 0, st.Size()+1)
	b, err = readAllLimited(f, b, max)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return b, nil
}

// readAllLimited appends r's bytes to b and fails when they exceed max.
func readAllLimited(r io.Reader, b []byte, max int64) ([]byte, error) {
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if int64(len(b)) > max {
			return nil, fmt.Errorf("%w: more than %s", ErrTooLarge, byteSize(max))
		}
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// fileKind names the type of a file that is not regular.
func fileKind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a block device"
	case m&fs.ModeSocket != 0:
		return "a socket"
	}
	return "not a regular file"
}

// byteSize renders a limit in the unit it was written in.
func byteSize(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}
