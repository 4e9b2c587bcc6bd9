package main

import (
	"bufio"
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The agent tests run this test binary as tenure agent, in a process of
// its own (it stops on SIGTERM).
func init() {
	if os.Getenv("TENURE_AGENTTEST_HELPER") == "1" && len(os.Args) > 1 && os.Args[1] == "agent" {
		os.Exit(runMain(os.Args[1:], os.Stdout, os.Stderr))
	}
}

// startAgentProc runs tenure agent with args and returns its API URL
// once it logs that it is ready. The cleanup stops it
// with SIGTERM.
func startAgentProc(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command(selfPath(t), append([]string{"agent"}, args...)...)
	cmd.Env = append(os.Environ(), "TENURE_AGENTTEST_HELPER=1")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer // written by the reader until it sends on up, then read only after done
	up := make(chan string, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(stderr)
		sent := false
		for sc.Scan() {
			if sent {
				continue
			}
			log.WriteString(sc.Text() + "\n")
			if !strings.Contains(sc.Text(), "agent ready") {
				continue
			}
			for _, field := range strings.Fields(sc.Text()) { // http=URL
				if u, ok := strings.CutPrefix(field, "http="); ok {
					up <- u
					sent = true
				}
			}
		}
		if !sent {
			up <- ""
		}
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		<-done
		_ = cmd.Wait()
	})
	select {
	case u := <-up:
		if u == "" {
			<-done
			t.Fatalf("tenure agent %q exited before it was ready:\n%s", args, log.String())
		}
		return u
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("tenure agent %q not ready in 30s:\n%s", args, log.String())
	}
	return ""
}

// testCerts writes a CA, and a server certificate it signed for
// 127.0.0.1 and localhost with its key (mode 0600), to dir as PEM files.
func testCerts(t *testing.T, dir string) (ca, cert, key string) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "tenure test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	srvKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	srvTmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "tenure agent"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"localhost"}}
	srvDER, err := x509.CreateCertificate(rand.Reader, srvTmpl, caCert, &srvKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(srvKey)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name, typ string, der []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	return write("ca.pem", "CERTIFICATE", caDER), write("cert.pem", "CERTIFICATE", srvDER), write("key.pem", "EC PRIVATE KEY", keyDER)
}

// TestAgentTLS serves the API over TLS with certificates made here:
// tenure status reaches it with --ca, fails with a certificate error
// naming --ca without it, and a plain http:// request is refused clearly.
func TestAgentTLS(t *testing.T) {
	dir := t.TempDir()
	ca, cert, key := testCerts(t, dir)
	url := startAgentProc(t, "--name", "a", "--voters", "a", "--bind", "127.0.0.1:0", "--http", "127.0.0.1:0",
		"--data-dir", filepath.Join(dir, "data"), "--new-cluster", "--http-tls-cert", cert, "--http-tls-key", key)
	if !strings.HasPrefix(url, "https://127.0.0.1:") {
		t.Fatalf("ready file says %q, want an https:// URL", url)
	}
	var out, errb bytes.Buffer
	if code := runMain([]string{"status", "--agent", url, "--ca", ca}, &out, &errb); code != 0 || !strings.Contains(out.String(), "agent "+url+" (node a)") {
		t.Fatalf("status --ca: exit %d\nstdout %s\nstderr %s", code, out.String(), errb.String())
	}
	out.Reset()
	errb.Reset()
	localhost := strings.Replace(url, "127.0.0.1", "localhost", 1)
	if code := runMain([]string{"status", "--agent", localhost, "--ca", ca, "--json"}, &out, &errb); code != 0 {
		t.Fatalf("status via localhost: exit %d: %s", code, errb.String())
	}
	errb.Reset()
	if code := runMain([]string{"status", "--agent", url}, &out, &errb); code != 1 ||
		!strings.Contains(errb.String(), "certificate") || !strings.Contains(errb.String(), "--ca") {
		t.Fatalf("status without --ca: exit %d, stderr %q; want 1 and a certificate error naming --ca", code, errb.String())
	}
	errb.Reset()
	plain := "http://" + strings.TrimPrefix(url, "https://")
	if code := runMain([]string{"status", "--agent", plain}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "HTTP request to an HTTPS server") {
		t.Fatalf("plain http to the TLS port: exit %d, stderr %q", code, errb.String())
	}
	errb.Reset()
	if code := runMain([]string{"status", "--agent", plain, "--ca", ca}, &out, &errb); code != exitUsage || !strings.Contains(errb.String(), "--ca is for an https:// agent") {
		t.Fatalf("--ca with http://: exit %d, stderr %q; want usage error", code, errb.String())
	}
	errb.Reset()
	if code := runMain([]string{"status", "--agent", url, "--ca", cert + ".missing"}, &out, &errb); code != exitUsage {
		t.Fatalf("missing --ca file: exit %d, stderr %q", code, errb.String())
	}
}

// TestAgentTLSFlags checks the TLS flags: both or neither, a key file
// others may write refused as the token file is, a bad pair refused.
func TestAgentTLSFlags(t *testing.T) {
	dir := t.TempDir()
	ca, cert, key := testCerts(t, dir)
	if err := checkAgentArgs(t, "--http-tls-cert", cert); err == nil || !strings.Contains(err.Error(), "needs --http-tls-key") {
		t.Errorf("cert alone: %v", err)
	}
	if err := checkAgentArgs(t, "--http-tls-key", key); err == nil || !strings.Contains(err.Error(), "needs --http-tls-cert") {
		t.Errorf("key alone: %v", err)
	}
	if err := checkAgentArgs(t, "--http-tls-cert", ca, "--http-tls-key", key); err == nil || !strings.Contains(err.Error(), "--http-tls-cert") {
		t.Errorf("a cert that does not match the key: %v", err)
	}
	if err := checkAgentArgs(t, "--http-tls-cert", cert, "--http-tls-key", key); err != nil {
		t.Errorf("a good pair: %v", err)
	}
	if err := os.Chmod(key, 0o666); err != nil {
		t.Fatal(err)
	}
	if err := checkAgentArgs(t, "--http-tls-cert", cert, "--http-tls-key", key); err == nil || !strings.Contains(err.Error(), "--http-tls-key "+key+" has mode 0666") {
		t.Errorf("a key file others may write: %v", err)
	}
}
