package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

// The example runs end to end: c2 gets the crashed c1's locks with higher
// tokens, commits, and every participant refuses c1's late commit.
func TestCoordinatorCrash(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out bytes.Buffer
	if err := run(ctx, &out, time.Second); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	t.Log("\n" + out.String())
	for _, want := range []string{"c2 committed tx2", "tokens rose from c1 to c2: true; late commits refused: 3 of 3", "p1 committed [tx2]"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q", want)
		}
	}
}
