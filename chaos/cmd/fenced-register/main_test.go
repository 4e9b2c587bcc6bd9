package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tenure-dev/tenure/fence"
)

// Bad usage exits 2 with a message naming the problem, and creates no file.
func TestUsageErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "--data is required"},
		{[]string{"--data", filepath.Join(dir, "v"), "extra"}, `unexpected argument "extra"`},
		{[]string{"--no-such-flag"}, "no-such-flag"},
		{[]string{"--data", filepath.Join(dir, "v"), "--unsafe-no-fence=maybe"}, "unsafe-no-fence"},
	} {
		var out, errb bytes.Buffer
		code := run(context.Background(), tc.args, &out, &errb)
		if code != exitUsage || !strings.Contains(errb.String(), tc.want) || out.Len() != 0 {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want 2 and %q on stderr", tc.args, code, out.String(), errb.String(), tc.want)
		}
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Errorf("usage errors left files: %v", left)
	}
}

// The served register refuses a stale token, unless --unsafe-no-fence;
// the end of the context stops it with status 0.
func TestServeFencedAndUnsafe(t *testing.T) {
	for _, tc := range []struct {
		unsafe    bool
		staleCode int
	}{{false, http.StatusConflict}, {true, http.StatusOK}} {
		args := []string{"--listen", "127.0.0.1:0", "--data", filepath.Join(t.TempDir(), "values")}
		if tc.unsafe {
			args = append(args, "--unsafe-no-fence")
		}
		ctx, cancel := context.WithCancel(context.Background())
		t.Cleanup(cancel)
		pr, pw := io.Pipe()
		var errb bytes.Buffer
		done := make(chan int, 1)
		go func() {
			code := run(ctx, args, pw, &errb)
			_ = pw.Close()
			done <- code
		}()
		line, err := bufio.NewReader(pr).ReadString('\n')
		if err != nil {
			cancel()
			code := <-done
			t.Fatalf("%q: no listening line: %v (exit %d, stderr %q)", args, err, code, errb.String())
		}
		go func() { _, _ = io.Copy(io.Discard, pr) }()
		addr, _, ok := strings.Cut(strings.TrimPrefix(line, "fenced-register: listening on "), ",")
		if !ok {
			cancel()
			t.Fatalf("listening line %q", line)
		}
		put := func(token string) int {
			req, _ := http.NewRequest(http.MethodPut, "http://"+addr+"/v1/keys/k", strings.NewReader(`{"value":"v`+token+`"}`))
			req.Header.Set(fence.TokenHeader, token)
			resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
			if err != nil {
				t.Fatalf("PUT token %s: %v", token, err)
			}
			resp.Body.Close()
			return resp.StatusCode
		}
		if code := put("5"); code != http.StatusOK {
			t.Errorf("unsafe %v: PUT token 5: %d, want 200", tc.unsafe, code)
		}
		if code := put("3"); code != tc.staleCode {
			t.Errorf("unsafe %v: PUT stale token 3: %d, want %d", tc.unsafe, code, tc.staleCode)
		}
		cancel()
		if code := <-done; code != exitOK {
			t.Errorf("unsafe %v: exit %d after the context ended, want 0 (stderr %q)", tc.unsafe, code, errb.String())
		}
		if tc.unsafe != strings.Contains(errb.String(), "WARNING") {
			t.Errorf("unsafe %v: stderr %q", tc.unsafe, errb.String())
		}
	}
}
