package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// ProjectRoot returns the nearest directory at or above start that holds azure.yaml: the azd
// project root, against which every relative path of the package is resolved. Relative paths are
// never resolved against the working directory alone, so `-out dist/functionapp.zip` means the same
// file whether the command runs from the root, from a subfolder, or as azd's hook.
func ProjectRoot(start string) (string, error) {
	dir, err := filepath.Abs(start)
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "azure.yaml")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no azure.yaml in %s or any folder above it; run from the repository or pass -root", start)
		}
		dir = parent
	}
}

// Resolve makes p absolute against root unless it already is.
func Resolve(root, p string) string {
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	return filepath.Join(root, p)
}

// AzdDistCopy is where azd will open the package when it was started in invokedFrom rather than
// in root, or "" when no copy is needed.
//
// Why: for `language: custom` azd hands the service's `dist` value to the deploy step as written
// (azure-dev, cli/azd/pkg/project: customProject.Package returns serviceConfig.OutputPath as the
// artifact's location, not joined with the project path), so `azd up` started in a subfolder
// looks for <subfolder>/dist/functionapp.zip. Hooks themselves run in the project root (azd sets
// their working directory), so the hook learns where azd was started only from PWD, which sh, bash
// and zsh export. invokedFrom must lie strictly inside root: a PWD outside the project is stale (a
// shell that does not maintain it), never a place to write to.
func AzdDistCopy(root, out, invokedFrom string) string {
	if invokedFrom == "" || !filepath.IsAbs(invokedFrom) {
		return ""
	}
	rel, err := filepath.Rel(root, filepath.Clean(invokedFrom))
	if err != nil || rel == "." || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) || filepath.IsAbs(rel) {
		return ""
	}
	relOut, err := filepath.Rel(root, out)
	if err != nil || strings.HasPrefix(relOut, "..") {
		return "" // an -out outside the project is not azd's dist
	}
	return filepath.Join(root, rel, relOut)
}

// copyFile copies src to dst through a temporary file, creating dst's folder.
func copyFile(src, dst string) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	tmp := dst + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, dst)
}
