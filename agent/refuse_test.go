package agent

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestRefusedBodyClosesCleanly: a request refused before its handler (a
// body over MaxBodyBytes, a wrong token, a form body) is answered, and the
// connection then ends with a clean close, never a reset. A reset while
// the client still writes its body destroys the answer in the client's
// buffers: Go's client then reports "connection reset by peer" instead of
// the 413 (CI saw it once in a few hundred runs of TestVotersBadInput).
//
// The client here writes the whole request at once and only then reads,
// so the body's tail is always in the agent's socket when it answers: an
// agent that closes without reading it sends a reset every time.
func TestRefusedBodyClosesCleanly(t *testing.T) {
	big := `{"value":"` + strings.Repeat("v", 70<<10) + `"}`
	for _, c := range []struct {
		name, token, auth, ctype, body string
		code                           int
	}{
		{"over the size limit", "", "", "application/json", big, http.StatusRequestEntityTooLarge},
		{"form body", "", "", "application/x-www-form-urlencoded", big, http.StatusUnsupportedMediaType},
		{"wrong token", "s3cret", "Bearer nope", "application/json", big, http.StatusUnauthorized},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t, c.token)
			for i := range 5 {
				conn, err := net.Dial("tcp", strings.TrimPrefix(f.srv.URL, "http://"))
				if err != nil {
					t.Fatal(err)
				}
				defer conn.Close()
				_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
				head := "POST /v1/leases/x HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: " + c.ctype +
					"\r\nContent-Length: " + strconv.Itoa(len(c.body)) + "\r\n"
				if c.auth != "" {
					head += "Authorization: " + c.auth + "\r\n"
				}
				if _, err := io.WriteString(conn, head+"\r\n"+c.body); err != nil {
					t.Fatalf("try %d: writing the request: %v", i, err)
				}
				br := bufio.NewReader(conn)
				resp, err := http.ReadResponse(br, nil)
				if err != nil {
					t.Fatalf("try %d: reading the answer: %v", i, err)
				}
				_, err = io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil || resp.StatusCode != c.code {
					t.Fatalf("try %d: %d (body error %v), want %d", i, resp.StatusCode, err, c.code)
				}
				if resp.ContentLength <= 0 {
					t.Fatalf("try %d: the %d came without a Content-Length: its end waits for the drain", i, c.code)
				}
				// The agent closes after a refusal: the next read must
				// see the close, and see it as an orderly one.
				_, err = br.ReadByte()
				if !errors.Is(err, io.EOF) {
					t.Fatalf("try %d: after the %d the connection ended with %v, want a clean EOF (a reset loses answers)", i, c.code, err)
				}
			}
		})
	}
}
