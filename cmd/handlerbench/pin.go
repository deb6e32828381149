package main

import (
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
)

// selfCPUsEnv marks the re-executed bench and names the CPUs it runs on.
const selfCPUsEnv = "HANDLERBENCH_SELF_CPUS"

// pinSelfAway re-executes the bench on the CPUs the handler does not use, when the handler is
// pinned (-cpus): the load generator and the stand-ins then cannot take the handler's CPU, as
// in Azure, where callers and Graph are on other machines. It returns (false, nil) when this
// process should go on measuring, and (true, err) when it ran the re-executed bench.
func pinSelfAway(handlerCPUs string) (bool, error) {
	if handlerCPUs == "" || os.Getenv(selfCPUsEnv) != "" {
		return false, nil
	}
	taken, err := cpuList(handlerCPUs)
	if err != nil {
		return false, fmt.Errorf("-cpus %q: %w", handlerCPUs, err)
	}
	var rest []string
	for c := range onlineCPUs() {
		if !taken[c] {
			rest = append(rest, strconv.Itoa(c))
		}
	}
	slices.Sort(rest)
	if len(rest) == 0 {
		return false, nil // nothing left: share the handler's CPUs (the table says so)
	}
	self, err := os.Executable()
	if err != nil {
		return false, err
	}
	others := strings.Join(rest, ",")
	cmd := exec.Command("taskset", append([]string{"-c", others, self}, os.Args[1:]...)...)
	cmd.Env = append(os.Environ(), selfCPUsEnv+"="+others)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		return true, fmt.Errorf("re-running on CPUs %s with taskset (install util-linux): %w", others, err)
	}
	return true, nil
}

// cpuList parses taskset's list format: "0", "0,2", "0-3".
func cpuList(s string) (map[int]bool, error) {
	set := map[int]bool{}
	for part := range strings.SplitSeq(s, ",") {
		lo, hi, isRange := strings.Cut(strings.TrimSpace(part), "-")
		a, err := strconv.Atoi(lo)
		b := a
		if err == nil && isRange {
			b, err = strconv.Atoi(hi)
		}
		if err != nil || a < 0 || b < a {
			return nil, fmt.Errorf("not a CPU list like 0 or 0,2 or 0-3")
		}
		for c := a; c <= b; c++ {
			set[c] = true
		}
	}
	return set, nil
}
