package node

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/tenure-dev/tenure/protocol"
)

// dirIdentity is what a data dir is bound to (R17, R18): written at its
// first start, checked at every later one. The file is text, one "key
// value" line each, cluster, name and voter names quoted as Go strings:
//
//	cluster "tenure"
//	name "a"
//	id 6f0c2d1e9a8b7c6d5e4f3a2b1c0d9e8f
//	voters "a" "b" "c"
type dirIdentity struct {
	Cluster string
	Name    string
	// Voters is the sorted voter list the dir last ran with: a voter's
	// promises and grants were made under it (R17).
	Voters []string
	// ID is 16 random bytes in hex, made at the dir's first start: it
	// tells this dir's incarnations from those of another dir with the
	// same name (a replaced disk, a second process).
	ID string
}

// newNodeID makes a random node ID. It is an identifier, not a secret:
// crypto/rand only because it needs no seed to differ between machines.
func newNodeID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand documents it)
	return hex.EncodeToString(b[:])
}

// readIdentity returns the dir's identity; ok is false if it has none (a
// dir never used, or one written by a version without the file).
func (s *store) readIdentity() (id dirIdentity, ok bool, err error) {
	path := filepath.Join(s.dir, identityFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return dirIdentity{}, false, nil
	}
	if err != nil {
		return dirIdentity{}, false, fmt.Errorf("%w: %w", ErrStorage, err)
	}
	id, err = parseIdentity(string(b))
	if err != nil {
		// Refuse rather than guess whose dir this is.
		return dirIdentity{}, false, fmt.Errorf("%w: identity file %s is corrupt: %w", ErrStorage, path, err)
	}
	return id, true, nil
}

func parseIdentity(text string) (dirIdentity, error) {
	var id dirIdentity
	seen := map[string]bool{}
	for i, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		key, val, _ := strings.Cut(line, " ")
		val = strings.TrimSpace(val)
		var err error
		switch key {
		case "cluster":
			id.Cluster, err = strconv.Unquote(val)
		case "name":
			id.Name, err = strconv.Unquote(val)
		case "id":
			id.ID = val
			if b, herr := hex.DecodeString(val); herr != nil || len(b) != 16 {
				err = errors.New("want 32 hex digits")
			}
		case "voters":
			id.Voters, err = unquoteList(val)
		default:
			continue // a later version's key
		}
		if err != nil {
			return dirIdentity{}, fmt.Errorf("line %d %q: %v", i+1, line, err)
		}
		seen[key] = true
	}
	for _, k := range []string{"cluster", "name", "id"} {
		if !seen[k] {
			return dirIdentity{}, fmt.Errorf("no %q line", k)
		}
	}
	return id, nil
}

// unquoteList reads space-separated Go-quoted strings.
func unquoteList(val string) ([]string, error) {
	var out []string
	for val = strings.TrimSpace(val); val != ""; val = strings.TrimSpace(val) {
		q, err := strconv.QuotedPrefix(val)
		if err != nil {
			return nil, err
		}
		v, _ := strconv.Unquote(q)
		out = append(out, v)
		val = val[len(q):]
	}
	return out, nil
}

// writeIdentity binds the dir.
func (s *store) writeIdentity(id dirIdentity) error {
	var b strings.Builder
	b.WriteString("# tenure data dir: bound to this cluster and node name at its first start (R18)\n")
	fmt.Fprintf(&b, "cluster %s\nname %s\nid %s\nvoters", strconv.Quote(id.Cluster), strconv.Quote(id.Name), id.ID)
	for _, v := range id.Voters {
		b.WriteString(" " + strconv.Quote(v))
	}
	b.WriteString("\n")
	return s.writeFile(identityFile, []byte(b.String()))
}

// checkVoters refuses a dir whose node was a voter under another voter
// list (R17): its promises and grants were made to that list's
// majorities, and serving a new list's majorities with them, node by node,
// can grant a lease twice. restored (Config.Restored) is the operator's
// word that the whole cluster was stopped for the change and the node may
// start over as after a crash. It reports whether the dir must be rebound.
func (id dirIdentity) checkVoters(dir string, voters []string, restored bool) (rebind bool, err error) {
	now := sortedCopy(voters)
	if slices.Equal(id.Voters, now) {
		return false, nil
	}
	if len(id.Voters) == 0 || !slices.Contains(id.Voters, id.Name) || restored {
		return true, nil
	}
	return false, fmt.Errorf("%w: DataDir %s was last used by voter %q with Voters %s; this start has Voters %s: "+
		"changing the voter list node by node can grant a lease twice (R17). Stop every node, wait MaxTTL plus the longest lock delay, "+
		"then start every node with the new list and Restored (--restored) once", ErrConfig, dir, id.Name,
		protocol.VoterList(id.Voters), protocol.VoterList(now))
}

func sortedCopy(s []string) []string {
	c := slices.Clone(s)
	slices.Sort(c)
	return c
}

// check refuses a dir bound to another cluster or node, naming both.
func (id dirIdentity) check(dir, cluster, name string) error {
	if id.Cluster == cluster && id.Name == name {
		return nil
	}
	return fmt.Errorf("%w: DataDir %s belongs to node %q of cluster %q, but this node is %q of cluster %q (Name, ClusterID): "+
		"a data dir serves one node of one cluster (R18); give this node its own data dir", ErrConfig, dir, id.Name, id.Cluster, name, cluster)
}
