package main

import (
	"bytes"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

func completionScript(t *testing.T, shell string) string {
	t.Helper()
	var out, errb bytes.Buffer
	if code := runMain([]string{"completion", shell}, &out, &errb); code != 0 {
		t.Fatalf("completion %s: exit %d: %s", shell, code, errb.String())
	}
	return out.String()
}

// TestCompletionScripts checks that each shell's script names every
// command and some flags of each kind, and that a bad shell is refused.
func TestCompletionScripts(t *testing.T) {
	for _, shell := range completionShells {
		script := completionScript(t, shell)
		for name := range commands {
			if !strings.Contains(script, name) {
				t.Errorf("%s script lacks command %q", shell, name)
			}
		}
		for _, flag := range []string{"slots", "exit-not-held", "voters", "http-token-file", "seeds", "json"} {
			mention := "--" + flag
			if shell == "fish" {
				mention = "-l " + flag
			}
			if !strings.Contains(script, mention) {
				t.Errorf("%s script lacks flag --%s", shell, flag)
			}
		}
		if strings.Contains(script, "fenced-register") || strings.Contains(script, "unsafe-no-fence") {
			t.Errorf("%s script offers the chaos harness's fenced-register", shell)
		}
	}
	var out, errb bytes.Buffer
	for _, args := range [][]string{{"completion"}, {"completion", "tcsh"}, {"completion", "bash", "zsh"}} {
		if code := runMain(args, &out, &errb); code != 2 {
			t.Errorf("%q: exit %d, want 2", args, code)
		}
	}
}

// TestBashCompletion checks the bash script with bash itself: it parses
// (bash -n), and its function completes commands, flags and words the
// way bash-completion calls it (COMP_WORDS, COMP_CWORD).
func TestBashCompletion(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	script := completionScript(t, "bash")
	check := exec.Command(bash, "-n")
	check.Stdin = strings.NewReader(script)
	if out, err := check.CombinedOutput(); err != nil {
		t.Fatalf("bash -n: %v\n%s", err, out)
	}
	for _, tc := range []struct {
		words string // the command line; the last word is being completed
		want  string // one of the candidates
		not   string // not among them
	}{
		{"tenure lo", "lock", "status"},
		{"tenure lock --sl", "--slots", "--voters"},
		{"tenure lock --ex", "--exit-lost", "--json"},
		{"tenure agent --vo", "--voters", "--slots"},
		{"tenure completion z", "zsh", "bash"},
		{"tenure help st", "status", "lock"},
		{"tenure sim --see", "--seeds", ""},
		{"tenure lock job -- ba", "bash", "--slots"},
	} {
		words := strings.Fields(tc.words)
		prog := script + "\nCOMP_WORDS=(" + strings.Join(words, " ") + ")\nCOMP_CWORD=" +
			strconv.Itoa(len(words)-1) + "\n_tenure\nprintf '%s\\n' \"${COMPREPLY[@]}\"\n"
		cmd := exec.Command(bash, "--norc", "--noprofile")
		cmd.Stdin = strings.NewReader(prog)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%q: %v\n%s", tc.words, err, out)
		}
		got := strings.Fields(string(out))
		has := func(w string) bool {
			for _, g := range got {
				if g == w {
					return true
				}
			}
			return false
		}
		if !has(tc.want) || (tc.not != "" && has(tc.not)) {
			t.Errorf("%q<TAB>: %q; want %q and not %q", tc.words, got, tc.want, tc.not)
		}
	}
}

// TestZshAndFishCompletion checks that zsh and fish parse their scripts
// (-n), and that fish completes with its own engine (complete -C). Each
// part is skipped where that shell is not installed.
func TestZshAndFishCompletion(t *testing.T) {
	ran := 0
	if zsh, err := exec.LookPath("zsh"); err == nil {
		ran++
		cmd := exec.Command(zsh, "-n")
		cmd.Stdin = strings.NewReader(completionScript(t, "zsh"))
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("zsh -n: %v\n%s", err, out)
		}
	}
	if fish, err := exec.LookPath("fish"); err == nil {
		ran++
		script := completionScript(t, "fish")
		cmd := exec.Command(fish, "--no-config", "-n")
		cmd.Stdin = strings.NewReader(script)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("fish -n: %v\n%s", err, out)
		}
		for line, want := range map[string]string{"tenure lo": "lock\t", "tenure lock --sl": "--slots\t", "tenure completion z": "zsh"} {
			cmd := exec.Command(fish, "--no-config", "-c", "source; complete -C '"+line+"'")
			cmd.Stdin = strings.NewReader(script)
			out, err := cmd.CombinedOutput()
			if err != nil || !strings.Contains(string(out), want) {
				t.Errorf("fish: %q<TAB>: %v, %q; want %q", line, err, out, want)
			}
		}
	}
	if ran == 0 {
		t.Skip("neither zsh nor fish is installed")
	}
}
