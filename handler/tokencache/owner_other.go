//go:build !unix

package tokencache

import "io/fs"

// foreign: on Windows the file lives under the user's %AppData%, whose ACL admits only the
// user; Go's FileInfo has no owner or ACL to check.
func foreign(fs.FileInfo) string { return "" }
