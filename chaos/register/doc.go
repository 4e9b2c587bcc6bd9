// Package register is the resource of the chaos test: a fenced register, an
// HTTP service that holds one value per key and accepts a write only with a
// fencing token not lower than the highest it has accepted for the key's
// lease. Each key is fenced by the lease of the same name: the register
// derives the lease name from the key it writes and never takes it from
// the request.
//
// # 1. API
//
//   - GET /v1/keys/{key} answers 200 {"key","value","token"} with the last
//     value written and the token of its write, or 404 {"error"} if the key
//     was never written.
//   - PUT /v1/keys/{key} with the header Fencing-Token (see package
//     fence) and the body {"value": "..."} answers 200
//     {"key","value","token"} once the value is on disk, 409 {"error": "stale
//     token", "name", "token", "highest"} if the token is below the highest
//     admitted for the lease named key, 400 for a malformed request, and 503
//     if the value or the token could not be made durable (the write's fate
//     is then unknown to the caller: the token may have been admitted). The
//     header Lease-Name is optional; if sent it must equal the key byte for
//     byte, or the write is refused with 400 (fence.ErrWrongName): "DB",
//     "db#0" and the NFD spelling of "café" are leases of their own, so a
//     token of one says nothing about the key "db" or "café". A key that is
//     not a valid lease name (a control character, say) is refused with 400.
//   - GET /healthz answers 200 "ok".
//
// Tokens travel as decimal strings: real tokens exceed 2^53.
//
// # 2. Durability
//
// Two files: the values (the file named by the caller, rewritten whole on
// every write: temporary file, fsync, rename, fsync of the directory) and
// the token floor (the same name plus ".tokens", kept by fence.OpenFile).
// The token is raised on disk before the value is written, and the value is
// on disk before the 200 leaves, so an acknowledged write survives a crash
// of the server and a restarted server refuses every holder it refused
// before.
//
// # 3. Guarantees
//
// Per key, accepted writes are applied one at a time in non-decreasing
// token order (fence.Guard.Do holds the key's lock across the check and the
// write); a write whose token is lower than one already admitted for the
// key's lease is refused and changes nothing, whatever lease name the
// request claims.
//
// # 4. The broken build
//
// Options.UnsafeNoFence turns the fence off: every write with a token is
// accepted. It exists only so that the chaos test can show that its checkers
// catch a resource that admits stale holders. The harness's binary
// (chaos/cmd/fenced-register, not part of the tenure binary) exposes it as
// --unsafe-no-fence.
//
// # 5. Testing map
//
//   - server_test.go: the HTTP answers, stale refusals, other spellings of
//     the key's lease name refused, restart with the files kept, the unsafe
//     mode admitting a stale write.
//   - store_test.go: the value file's format, corrupt files refused.
package register
