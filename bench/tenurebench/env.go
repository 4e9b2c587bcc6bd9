package tenurebench

import (
	"os"
	"strings"
)

// childEnv is this process's environment without TENURE_* variables: the
// children's flags are all given on their command lines.
func childEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "TENURE_") {
			env = append(env, kv)
		}
	}
	return env
}
