package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
)

// The APIM emulator runs on Mono and compiles the policy expressions with mcs against Debian's
// Json.NET; the package list is the one .ci/run installs.
const (
	monoPackages   = "mono-mcs mono-runtime libnewtonsoft-json5.0-cil libmono-system-xml-linq4.0-cil libmono-microsoft-csharp4.0-cil mono-utils"
	newtonsoftPath = "/usr/lib/cli/Newtonsoft.Json-5.0/Newtonsoft.Json.dll"
)

// lookPath and stat are variables so the test can simulate a machine without Mono.
var (
	lookPath = exec.LookPath
	stat     = os.Stat
)

// checkPrerequisites reports every missing tool at once, with the command that installs it.
// Go is present (it built this program); Node and the npm packages are only needed by the
// clients (MCP Inspector), and `make dev` installs them first through `make deps`.
func checkPrerequisites() error {
	var missing []string
	for _, tool := range []string{"mono", "mcs", "monodis"} {
		if _, err := lookPath(tool); err != nil {
			missing = append(missing, tool)
		}
	}
	if _, err := stat(newtonsoftPath); err != nil {
		missing = append(missing, newtonsoftPath)
	}
	if len(missing) == 0 {
		return nil
	}
	return fmt.Errorf("missing %s: the APIM emulator runs the policies on Mono.\n"+
		"  Debian/Ubuntu: sudo apt-get install -y --no-install-recommends %s\n"+
		"  (or run `bash .ci/run`, which installs everything the tests need and runs them)",
		strings.Join(missing, ", "), monoPackages)
}

// portFree reports whether a loopback port can be bound now.
func portFree(port int) error {
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		var op *net.OpError
		if errors.As(err, &op) {
			return op.Err
		}
		return err
	}
	return ln.Close()
}
