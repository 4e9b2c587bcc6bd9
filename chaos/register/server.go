package register

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"unicode/utf8"

	"github.com/tenure-dev/tenure/fence"
)

// Limits on what a request may carry.
const (
	// MaxKeyLen is the longest key, in bytes.
	MaxKeyLen = 256
	// MaxValueLen is the longest value, in bytes.
	MaxValueLen = 64 << 10
)

// Options configures a Server.
type Options struct {
	// UnsafeNoFence accepts every write whatever its token: the deliberately
	// broken build the chaos test must catch. Never set it otherwise.
	// Default false.
	UnsafeNoFence bool
}

// Server is the fenced register. It is an http.Handler and safe for
// concurrent use. Make one with Open and Close it when done.
type Server struct {
	store *store
	guard *fence.Guard
	opts  Options
	mux   *http.ServeMux
}

// Open starts a register whose values live in the file at path and whose
// token floor lives in path+".tokens". Missing files mean a first start;
// corrupt ones are refused (ErrCorrupt, fence.ErrCorrupt).
func Open(path string, opts Options) (*Server, error) {
	st, err := openStore(path)
	if err != nil {
		return nil, err
	}
	g, err := fence.OpenFile(path + ".tokens")
	if err != nil {
		st.close()
		return nil, err
	}
	s := &Server{store: st, guard: g, opts: opts, mux: http.NewServeMux()}
	s.mux.HandleFunc("GET /v1/keys/{key}", s.handleGet)
	s.mux.HandleFunc("PUT /v1/keys/{key}", s.handlePut)
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("ok\n"))
	})
	return s, nil
}

// ServeHTTP answers the API described in the package documentation.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Get returns the entry of key as a GET would.
func (s *Server) Get(key string) (Entry, bool) { return s.store.get(key) }

// Put writes value to key with token, as a PUT would. The write is fenced
// by the lease named by the key itself: it returns a *fence.StaleError
// (matching fence.ErrStale) if token is below the highest admitted for that
// lease, fence.ErrBadName if the key is not a valid lease name, and
// ErrPersist or fence.ErrPersist if the write could not be made durable.
// The value is on disk when Put returns nil.
func (s *Server) Put(key string, token uint64, value string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	op := func() error { return s.store.put(key, Entry{Value: value, Token: token}) }
	if s.opts.UnsafeNoFence {
		if token == 0 {
			return fence.ErrNoToken
		}
		return op()
	}
	// The lease that fences a key is the lease of the same name, derived
	// here from the key written and never taken from the request: a client
	// free to name the lease would send a stale token for "db" as "DB" or
	// "db#0", leases of their own whose highest is lower.
	return s.guard.Do(key, token, op)
}

// Close stops the register: later writes fail with ErrClosed or
// fence.ErrClosed. Everything acknowledged is already on disk.
func (s *Server) Close() error {
	s.store.close()
	return s.guard.Close()
}

// response is the body of a successful GET or PUT.
type response struct {
	Key   string `json:"key"`
	Value string `json:"value"`
	Token string `json:"token"`
}

// putRequest is the body of a PUT.
type putRequest struct {
	Value *string `json:"value"`
}

func (s *Server) handleGet(w http.ResponseWriter, r *http.Request) {
	key := r.PathValue("key")
	if err := checkKey(key); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	e, ok := s.store.get(key)
	if !ok {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no such key", "key": key})
		return
	}
	writeJSON(w, http.StatusOK, response{Key: key, Value: e.Value, Token: strconv.FormatUint(e.Token, 10)})
}

func (s *Server) handlePut(w http.ResponseWriter, r *http.Request) {
	key := r.PathValue("key")
	if err := checkKey(key); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	// The token is read for the key's own lease: a Lease-Name header, if
	// sent, must name exactly that lease (fence.ErrWrongName otherwise).
	token, err := fence.ReadToken(r.Header, key)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	var req putRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 2*MaxValueLen))
	if err := dec.Decode(&req); err != nil || req.Value == nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": `body must be {"value": "..."}`})
		return
	}
	if len(*req.Value) > MaxValueLen {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": fmt.Sprintf("value longer than %d bytes", MaxValueLen)})
		return
	}
	err = s.Put(key, token, *req.Value)
	var stale *fence.StaleError
	switch {
	case err == nil:
		writeJSON(w, http.StatusOK, response{Key: key, Value: *req.Value, Token: strconv.FormatUint(token, 10)})
	case errors.As(err, &stale):
		writeJSON(w, http.StatusConflict, map[string]string{
			"error":   "stale token",
			"name":    stale.Name,
			"token":   strconv.FormatUint(stale.Token, 10),
			"highest": strconv.FormatUint(stale.Highest, 10),
		})
	case errors.Is(err, fence.ErrNoToken), errors.Is(err, fence.ErrBadName), errors.Is(err, errBadKey):
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
	default:
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": err.Error()})
	}
}

// errBadKey is wrapped by checkKey's errors; it maps to a 400.
var errBadKey = errors.New("register: invalid key")

// checkKey refuses empty, overlong and non-UTF-8 keys.
func checkKey(key string) error {
	if key == "" || len(key) > MaxKeyLen || !utf8.ValidString(key) {
		return fmt.Errorf("%w: %q (1..%d bytes of UTF-8)", errBadKey, key, MaxKeyLen)
	}
	return nil
}

// writeJSON answers with status and body encoded as JSON.
func writeJSON(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}
