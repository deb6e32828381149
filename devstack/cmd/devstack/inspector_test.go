package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"example.com/graphmcp/internal/testdeps"
)

// TestInspectorWebWalkthrough runs README's MCP Inspector walk-through against the `make dev`
// program: the pinned Inspector's web UI (2.12.0, on Node 22, as README starts it with
// NODE_EXTRA_CA_CERTS) driven by headless Chromium through adding the server, connecting, the
// gateway's consent page, the Entra stand-in's sign-in form, listing the tools and executing
// get_graph_user_details. The Inspector CLI's headless flow is e2e's TestGatewayInspectorCLI.
func TestInspectorWebWalkthrough(t *testing.T) {
	chromium := testdeps.Tool(t, "chromium")
	node := testdeps.Node22(t)
	inspector := testdeps.NodeBin(t, "mcp-inspector")
	playwright := filepath.Join(testdeps.NodeModules(t), "playwright-core", "index.mjs")
	bin := buildDev(t)
	dir := t.TempDir()
	gwPort := freePort(t)
	dev := startDev(t, bin, []string{"-dir", dir, "-port", strconv.Itoa(gwPort), "-entra-port", strconv.Itoa(freePort(t))})
	defer dev.stop(t, syscall.SIGINT)
	ca := filepath.Join(dir, "ca.pem")

	// The Inspector's own ports are chosen free so the test can run beside other tests; its
	// state (registrations, tokens) goes to a fresh HOME.
	cmd := exec.Command(node, inspector)
	cmd.Env = append(testdeps.Node22Env(t), "HOME="+t.TempDir(), "NODE_EXTRA_CA_CERTS="+ca, "MCP_AUTO_OPEN_ENABLED=false",
		"CLIENT_PORT="+strconv.Itoa(freePort(t)), "MCP_SANDBOX_PORT="+strconv.Itoa(freePort(t)),
		"MCP_APP_ORIGIN_PORT="+strconv.Itoa(freePort(t)), "MCP_INSPECTOR_SECRET_STORE=memory")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // it starts children: stop the whole group
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	defer func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
	}()
	urlRE := regexp.MustCompile(`http://127\.0\.0\.1:\d+/?\?MCP_INSPECTOR_API_TOKEN=[0-9a-f]+`)
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if u := urlRE.FindString(sc.Text()); u != "" {
				select {
				case found <- u:
				default:
				}
			}
		}
	}()
	var inspectorURL string
	select {
	case inspectorURL = <-found:
	case <-exited:
		t.Fatal("the Inspector exited before printing its address")
	case <-time.After(time.Minute):
		t.Fatal("the Inspector printed no address within a minute")
	}

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	script := exec.CommandContext(ctx, node, filepath.Join("testdata", "inspector-web.mjs"))
	script.Env = append(testdeps.Node22Env(t), "PLAYWRIGHT="+playwright, "CHROMIUM="+chromium,
		"INSPECTOR_URL="+inspectorURL, "MCP_URL="+fmt.Sprintf("https://127.0.0.1:%d/mcp", gwPort),
		"UPN=adele@contoso.test", "PASSWORD=adele-dev-password")
	out, err := script.CombinedOutput()
	var res struct {
		ConsentNamesClient bool     `json:"consent_names_client"`
		Tools              []string `json:"tools"`
		ProfileShown       bool     `json:"profile_shown"`
	}
	_, line, ok := strings.Cut(string(out), "RESULT ")
	if err != nil || !ok || json.Unmarshal([]byte(strings.SplitN(line, "\n", 2)[0]), &res) != nil {
		t.Fatalf("walk-through failed (%v):\n%s", err, out)
	}
	// Adele holds the app role Tools.Mail, so the mail tool is listed too.
	want := []string{"get_graph_user_details", "list_recent_files", "list_recent_mail", "list_upcoming_events"}
	if !res.ConsentNamesClient || !res.ProfileShown || strings.Join(res.Tools, ",") != strings.Join(want, ",") {
		t.Fatalf("walk-through result %+v; want the consent page naming MCP Inspector, tools %v, Adele's profile", res, want)
	}
}
