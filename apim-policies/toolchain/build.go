package toolchain

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Tools are the Mono commands the toolchain runs. Zero values are looked up on PATH.
type Tools struct {
	MCS, Mono, Monodis string
	// Newtonsoft is Newtonsoft.Json.dll (Debian's libnewtonsoft-json5.0-cil, Json.NET 6.0.8).
	Newtonsoft string
	// CacheDir holds compiled assemblies keyed by a hash of their inputs, so repeated test runs
	// and concurrently running test packages share one compile. Default: apim-policies/.build.
	CacheDir string
}

const newtonsoftDefault = "/usr/lib/cli/Newtonsoft.Json-5.0/Newtonsoft.Json.dll"

func (t Tools) resolved() (Tools, error) {
	var err error
	look := func(p *string, name string) {
		if *p != "" || err != nil {
			return
		}
		if *p, err = exec.LookPath(name); err != nil {
			err = fmt.Errorf("%s not found on PATH: install Mono (apt-get install -y --no-install-recommends mono-mcs mono-runtime libnewtonsoft-json5.0-cil libmono-system-xml-linq4.0-cil mono-utils) or run .ci/run", name)
		}
	}
	look(&t.MCS, "mcs")
	look(&t.Mono, "mono")
	look(&t.Monodis, "monodis")
	if err != nil {
		return t, err
	}
	if t.Newtonsoft == "" {
		t.Newtonsoft = newtonsoftDefault
	}
	if _, err := os.Stat(t.Newtonsoft); err != nil {
		return t, fmt.Errorf("Newtonsoft.Json.dll not found at %s: apt-get install -y libnewtonsoft-json5.0-cil", t.Newtonsoft)
	}
	if t.CacheDir == "" {
		t.CacheDir = filepath.Join(PoliciesDir(), ".build")
	}
	return t, nil
}

// PoliciesDir is the apim-policies directory of this checkout.
func PoliciesDir() string {
	return filepath.Dir(sourceDir())
}

// frameworkRefs are the assemblies expressions and the emulator compile against.
var frameworkRefs = []string{"System.dll", "System.Core.dll", "System.Xml.dll", "System.Xml.Linq.dll"}

// compileUnit describes one mcs invocation.
type compileUnit struct {
	name    string            // output file name, e.g. "stub.dll"
	sources map[string][]byte // file name -> content
	refs    []string          // extra references (paths)
	exe     bool
}

// compile runs mcs once per distinct input and returns the output path. The cache key covers the
// sources, references' contents and the compiler path, so an edit to any of them recompiles.
func (t Tools) compile(ctx context.Context, u compileUnit) (string, Diagnostics, error) {
	h := sha256.New()
	fmt.Fprintf(h, "mcs=%s\nname=%s\nexe=%v\n", t.MCS, u.name, u.exe)
	names := keys(u.sources)
	for _, n := range names {
		fmt.Fprintf(h, "src %s %d\n", n, len(u.sources[n]))
		h.Write(u.sources[n])
	}
	for _, r := range u.refs {
		b, err := os.ReadFile(r)
		if err != nil {
			return "", nil, err
		}
		fmt.Fprintf(h, "ref %s %d\n", filepath.Base(r), len(b))
		h.Write(b)
	}
	sum := hex.EncodeToString(h.Sum(nil))[:24]
	final := filepath.Join(t.CacheDir, strings.TrimSuffix(u.name, filepath.Ext(u.name))+"-"+sum)
	out := filepath.Join(final, u.name)
	if _, err := os.Stat(out); err == nil {
		now := time.Now()
		_ = os.Chtimes(final, now, now) // least recently used builds are pruned first
		return out, nil, nil
	}
	if err := os.MkdirAll(t.CacheDir, 0o755); err != nil {
		return "", nil, err
	}
	tmp, err := os.MkdirTemp(t.CacheDir, ".tmp-"+u.name+"-")
	if err != nil {
		return "", nil, err
	}
	defer os.RemoveAll(tmp)
	args := []string{"-langversion:7", "-nologo", "-debug-", "-optimize+", "-out:" + filepath.Join(tmp, u.name)}
	if u.exe {
		args = append(args, "-target:exe")
	} else {
		args = append(args, "-target:library")
	}
	for _, r := range frameworkRefs {
		args = append(args, "-r:"+r)
	}
	args = append(args, "-r:"+t.Newtonsoft)
	for _, r := range u.refs {
		args = append(args, "-r:"+r)
	}
	for _, n := range names {
		p := filepath.Join(tmp, n)
		if err := os.WriteFile(p, u.sources[n], 0o644); err != nil {
			return "", nil, err
		}
		args = append(args, p)
	}
	cmd := exec.CommandContext(ctx, t.MCS, args...)
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	runErr := cmd.Run()
	ds := parseMCSOutput(buf.String(), tmp)
	if runErr != nil {
		if len(ds) == 0 {
			return "", nil, fmt.Errorf("mcs failed compiling %s: %v\n%s", u.name, runErr, buf.String())
		}
		return "", ds, nil
	}
	// Copy the referenced local assemblies next to the output so mono resolves them at run time.
	for _, r := range u.refs {
		b, _ := os.ReadFile(r)
		_ = os.WriteFile(filepath.Join(tmp, filepath.Base(r)), b, 0o644)
	}
	for _, n := range names {
		os.Remove(filepath.Join(tmp, n))
	}
	if err := os.Rename(tmp, final); err != nil {
		// Another process won the race; its output is identical.
		if _, statErr := os.Stat(out); statErr != nil {
			return "", nil, err
		}
	}
	t.prune(u.name, final)
	return out, nil, nil
}

// keepBuilds bounds the cache: each distinct policy set (or temporary test tree) adds an entry.
const keepBuilds = 64

// prune removes the oldest cached builds of one output name beyond keepBuilds.
func (t Tools) prune(name, keep string) {
	prefix := strings.TrimSuffix(name, filepath.Ext(name)) + "-"
	entries, err := os.ReadDir(t.CacheDir)
	if err != nil {
		return
	}
	type build struct {
		path string
		mod  int64
	}
	var builds []build
	for _, e := range entries {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), prefix) {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue
		}
		builds = append(builds, build{filepath.Join(t.CacheDir, e.Name()), info.ModTime().UnixNano()})
	}
	if len(builds) <= keepBuilds {
		return
	}
	sort.Slice(builds, func(i, j int) bool { return builds[i].mod > builds[j].mod })
	for _, b := range builds[keepBuilds:] {
		if b.path != keep {
			os.RemoveAll(b.path)
		}
	}
}

var mcsLine = regexp.MustCompile(`^(.+)\((\d+),(\d+)\): error (CS\d+): (.*)$`)

// parseMCSOutput turns mcs errors into diagnostics. Errors in generated code (outside a #line
// span) keep the temporary file name; they indicate a toolchain bug, not a policy bug.
func parseMCSOutput(out, tmp string) Diagnostics {
	var ds Diagnostics
	for _, l := range strings.Split(out, "\n") {
		m := mcsLine.FindStringSubmatch(strings.TrimSpace(l))
		if m == nil {
			continue
		}
		line, _ := strconv.Atoi(m[2])
		file := m[1]
		if strings.HasPrefix(file, tmp) {
			file = "(generated)" + strings.TrimPrefix(file, tmp)
		}
		ds = append(ds, Diagnostic{File: file, Line: line, Msg: m[4] + ": " + m[5]})
	}
	sort.SliceStable(ds, func(i, j int) bool { return ds[i].Line < ds[j].Line })
	return ds
}

// readSources reads the *.cs files of a directory.
func readSources(dir string) (map[string][]byte, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.cs"))
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no C# sources in %s", dir)
	}
	out := map[string][]byte{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		out[filepath.Base(f)] = b
	}
	return out, nil
}

// BuildStub compiles apim-policies/stub (the APIM object model) into stub.dll.
func (t Tools) BuildStub(ctx context.Context) (string, error) {
	t, err := t.resolved()
	if err != nil {
		return "", err
	}
	srcs, err := readSources(filepath.Join(PoliciesDir(), "stub"))
	if err != nil {
		return "", err
	}
	out, ds, err := t.compile(ctx, compileUnit{name: "Apim.ObjectModel.dll", sources: srcs})
	if err != nil {
		return "", err
	}
	if ds != nil {
		return "", fmt.Errorf("the object-model stub does not compile:\n%v", ds.Error())
	}
	return out, nil
}

// BuildEmulator compiles apim-policies/emulator into apimemu.exe (next to a copy of the stub).
func (t Tools) BuildEmulator(ctx context.Context) (string, error) {
	t, err := t.resolved()
	if err != nil {
		return "", err
	}
	stub, err := t.BuildStub(ctx)
	if err != nil {
		return "", err
	}
	srcs, err := readSources(filepath.Join(PoliciesDir(), "emulator"))
	if err != nil {
		return "", err
	}
	out, ds, err := t.compile(ctx, compileUnit{name: "apimemu.exe", sources: srcs, refs: []string{stub}, exe: true})
	if err != nil {
		return "", err
	}
	if ds != nil {
		return "", fmt.Errorf("the emulator does not compile:\n%v", ds.Error())
	}
	return out, nil
}

// CompileExpressions compiles generated expression code against the stub; diagnostics point at
// policy files through #line.
func (t Tools) CompileExpressions(ctx context.Context, src string) (string, Diagnostics, error) {
	t, err := t.resolved()
	if err != nil {
		return "", nil, err
	}
	stub, err := t.BuildStub(ctx)
	if err != nil {
		return "", nil, err
	}
	return t.compile(ctx, compileUnit{name: "Apim.Policies.Generated.dll",
		sources: map[string][]byte{"Expressions.cs": []byte(src)}, refs: []string{stub}})
}
