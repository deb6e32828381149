//go:build unix

package tokencache

import (
	"fmt"
	"io/fs"
	"os"
	"syscall"
)

// foreign returns why a file's ownership or permissions make it unsafe to hold tokens, or "".
func foreign(fi fs.FileInfo) string {
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return fmt.Sprintf("is accessible to other users (mode %04o, must be 0600)", perm)
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Getuid() {
		return fmt.Sprintf("belongs to another user (uid %d, you are %d)", st.Uid, os.Getuid())
	}
	return ""
}
