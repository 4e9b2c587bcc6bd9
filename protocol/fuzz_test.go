package protocol

import (
	"errors"
	"flag"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

var writeSeeds = flag.Bool("write-seeds", false, "rewrite the FuzzDecode seed corpus in testdata/fuzz/FuzzDecode")

// checkDecode is FuzzDecode's property: decoding any bytes either fails
// with ErrDecode (never through a recovered panic) or yields messages that
// re-encode, and decode again, to the same messages from the same sender.
func checkDecode(t tb, raw []byte) {
	hdr, ms, err := NewDecoder().Decode(raw)
	from := hdr.From
	if err != nil {
		if !errors.Is(err, ErrDecode) {
			t.Fatalf("error %v does not wrap ErrDecode", err)
		}
		if strings.Contains(err.Error(), "decoder panic") {
			t.Fatalf("decoder panicked on %x: %v", raw, err)
		}
		return
	}
	if from == "" || len(ms) == 0 {
		t.Fatalf("success with sender %q and %d messages", from, len(ms))
	}
	ms = append([]Message(nil), ms...)
	for _, m := range ms {
		if _, cfg := configFieldCount[m.Type()]; cfg || m.Type() == TypeHello || m.Type() == TypeHelloReply {
			continue // about no lease
		}
		if err := checkName(m.Lease()); err != nil {
			t.Fatalf("decoded a bad lease name: %v", err)
		}
	}
	again := decodeAllH(t, hdr, encodeAllH(t, hdr, ms))
	if !sameMessages(again, ms) {
		t.Fatalf("re-encoding changed the messages:\n first %s\nsecond %s", dumpMsgs(ms), dumpMsgs(again))
	}
	if again := decodeAllH(t, hdr, encodeFor(t, hdr, WireVersionRuns, ms)); !sameMessages(again, ms) {
		t.Fatalf("re-encoding in the compact form changed the messages:\n first %s\nsecond %s", dumpMsgs(ms), dumpMsgs(again))
	}
}

// seedCorpus is the committed FuzzDecode seed corpus: a valid datagram of
// every type (and a batch), plus a few broken ones.
func seedCorpus(t tb) map[string][]byte {
	info := LeaseInfo{Owner: "b", Ballot: Ballot{Era: 2, Round: 9, Node: "b"}, Remaining: 1500 * time.Millisecond, Value: []byte("10.0.0.2:80")}
	bl := Ballot{Era: 2, Round: 10, Node: "a"}
	one := map[string]Message{
		"prepare":           &Prepare{Name: "leader", Ballot: bl, Attempt: 2<<32 | 1},
		"promise":           &Promise{Name: "leader", Attempt: 2<<32 | 1},
		"promise-held":      &Promise{Name: "leader", Attempt: 2<<32 | 1, Holder: info, Reason: ReasonLive},
		"promise-grace":     &Promise{Name: "leader", Attempt: 2<<32 | 1, Holder: info, Reason: ReasonHandoff},
		"reject":            &Reject{Name: "leader", Attempt: 7, Promised: Ballot{Era: 3, Round: 1, Node: "c"}, Holder: info, Reason: ReasonPromised},
		"propose":           &Propose{Name: "leader", Ballot: bl, Attempt: 2<<32 | 1, TTL: 2 * time.Second, LockDelay: time.Second, Value: []byte("v")},
		"propose-one-round": &Propose{Name: "leader", Ballot: bl, Attempt: 2<<32 | 1, TTL: 2 * time.Second, Value: []byte("v"), OneRound: true},
		"accepted":          &Accepted{Name: "leader", Attempt: 2<<32 | 1},
		"release":           &Release{Name: "leader", Ballot: bl},
		"query":             &Query{Name: "leader", ID: 12},
		"query-reply":       &QueryReply{Name: "leader", ID: 12, Holder: info},
		"vacant":            &Vacant{Name: "leader"},
		"vacant-pass":       &Vacant{Name: "leader", Pass: true},
		"hello":             &Hello{Boot: 7, Nonce: 1 << 60},
		"hello-reply":       &HelloReply{Boot: 7, Nonce: 1 << 60, Stale: true, Seen: 9},
	}
	seeds := map[string][]byte{}
	var batch []Message
	for _, k := range slices.Sorted(maps.Keys(one)) {
		seeds[k] = encodeAll(t, "a", []Message{one[k]})[0]
		batch = append(batch, one[k])
	}
	seeds["batch"] = encodeAll(t, "a", batch)[0]
	p := seeds["propose"]
	seeds["broken-version"] = append([]byte{9}, p[1:]...)
	seeds["broken-truncated"] = p[:len(p)-3]
	seeds["broken-type"] = append(append([]byte(nil), p[:3]...), 0x7f, 0x91, 0xa1, 'x')
	seeds["broken-short-array"] = datagram(WireVersion, "a", msg(TypePropose, "leader", 1, 2))
	seeds["broken-control-name"] = datagram(WireVersion, "a", msg(TypeVacant, "a\x00b", false))
	seeds["extra-fields"] = datagram(WireVersion, "a", msg(TypeAccepted, "leader", 5, "future", []int{1, 2}))
	maps.Copy(seeds, compactSeeds(t)) // codec_compact_test.go
	return seeds
}

const seedDir = "testdata/fuzz/FuzzDecode"

// The committed corpus is what seedCorpus says; go test -run
// TestFuzzSeedCorpus -write-seeds rewrites it.
func TestFuzzSeedCorpus(t *testing.T) {
	seeds := seedCorpus(t)
	if *writeSeeds {
		if err := os.MkdirAll(seedDir, 0o755); err != nil {
			t.Fatal(err)
		}
		for k, b := range seeds {
			body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", b)
			if err := os.WriteFile(filepath.Join(seedDir, "seed-"+k), []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	for k, b := range seeds {
		got, err := os.ReadFile(filepath.Join(seedDir, "seed-"+k))
		if err != nil {
			t.Fatalf("seed %s missing (run with -write-seeds): %v", k, err)
		}
		if want := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", b); string(got) != want {
			t.Fatalf("seed %s is stale (run with -write-seeds)", k)
		}
		_, _, err = NewDecoder().Decode(b)
		if broken := strings.HasPrefix(k, "broken-"); broken != (err != nil) {
			t.Fatalf("seed %s: decode error %v", k, err)
		}
	}
}

// FuzzDecode: no input panics the decoder, and whatever decodes re-encodes
// to the same messages. CI runs:
//
//	go test ./protocol -run '^$' -fuzz FuzzDecode -fuzztime 20s
func FuzzDecode(f *testing.F) {
	for _, b := range seedCorpus(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		checkDecode(t, raw)
	})
}
