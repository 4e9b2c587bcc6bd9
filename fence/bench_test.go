package fence

import (
	"fmt"
	"path/filepath"
	"testing"
)

// BenchmarkAdmit measures the common case: a holder sending operations with
// its tenure's token, which is equal to the highest and writes nothing.
func BenchmarkAdmit(b *testing.B) {
	g := New()
	if err := g.Admit("db", 7); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if err := g.Admit("db", 7); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAdmitParallel spreads callers over 64 names, so it measures
// contention on the name map rather than on one name's lock.
func BenchmarkAdmitParallel(b *testing.B) {
	g := New()
	names := make([]string, 64)
	for i := range names {
		names[i] = fmt.Sprintf("lease-%d", i)
	}
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if err := g.Admit(names[i%len(names)], 7); err != nil {
				b.Error(err)
				return
			}
			i++
		}
	})
}

// BenchmarkAdmitRaiseFile measures a new tenure's first operation on a
// file-backed Guard: a whole-file rewrite with two fsyncs.
func BenchmarkAdmitRaiseFile(b *testing.B) {
	g, err := OpenFile(filepath.Join(b.TempDir(), "tokens"))
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = g.Close() }()
	token := uint64(0)
	for b.Loop() {
		token++
		if err := g.Admit("db", token); err != nil {
			b.Fatal(err)
		}
	}
}
