// Package fence lets a resource check the fencing tokens of tenure leases, so
// that a holder whose lease has quietly ended (a long GC pause, a partition, a
// slow network) cannot overwrite the work of the holder that came after it.
//
// # 1. Why a resource needs it
//
// A lease bounds how long a holder may act, but the holder acts through a
// network: a request it sent just before its deadline may reach the resource
// long after a new holder has started. The lease protocol cannot stop that
// request; only the resource can. Each tenure of a lease name carries a token,
// a uint64 packing the (era, round) of the ballot that won it (era in the
// high 32 bits, round in the low 32 bits; rule R12). Tokens of successive
// tenures of one name strictly increase, and one tenure keeps its token across
// renewals. So the resource keeps, per lease name, the highest token it has
// admitted and refuses anything lower.
//
// # 2. API
//
//   - New returns an in-memory Guard; OpenFile returns one whose highest
//     tokens survive a restart of the resource.
//   - Guard.Resource(name) binds a Guard to the lease name that protects one
//     resource. Its Do, Admit and Highest take no name, so no call can check
//     a token against another name's highest. This is the easy path: bind
//     once, at setup, from the resource's own configuration.
//   - Guard.Do(name, token, op) checks the token and runs op while holding the
//     name's lock, so check and act are one step. name must be derived by the
//     resource from what op acts on (the key it writes, say), never taken
//     from the caller's message (section 3).
//   - Guard.Admit(name, token) only checks and records, for resources where
//     the check is the whole operation or the caller serialises by other means.
//   - Guard.Middleware(route, next) wraps an http.Handler: route maps each
//     request to the lease name of the resource it addresses (PathValue
//     reads a ServeMux wildcard), the middleware reads the Fencing-Token
//     header, refuses a Lease-Name header that names another lease, and
//     answers 400, 409 or 503 with a JSON body, or calls next inside Do.
//     Resource.Middleware does the same for one bound name. ReadToken is the
//     header check alone, for handlers that parse the request themselves.
//
// # 3. Rules
//
//   - A token equal to the highest is admitted: one tenure sends many
//     operations with one token.
//   - A token lower than the highest fails with a *StaleError that matches
//     ErrStale.
//   - Token 0 is never a valid token (ErrNoToken): a zero usually means the
//     caller forgot to send one.
//   - A name must be 1..MaxNameLen bytes of UTF-8 without control characters,
//     the same rule the protocol applies to lease names (ErrBadName).
//   - Names are compared byte for byte, as the lease system compares them:
//     "DB", "db#0" (slot 0 of a semaphore "db") and the NFD spelling of
//     "café" are each a lease of its own, with tokens of its own. So the
//     resource, not the caller, decides which name fences an operation: a
//     caller with a stale token for "db" that could pick the name would
//     pick one of those, whose highest is lower, and be admitted. The
//     middleware therefore takes the name from a Route and refuses a
//     Lease-Name header that disagrees with it (ErrWrongName); there is no
//     middleware that fences by the header's name.
//   - After Close returns, nothing that was not already admitted runs: a
//     Do waiting for its name's lock gets ErrClosed.
//
// # 4. Guarantees
//
// For each name, the operations admitted by Do run one at a time in
// non-decreasing token order, and every call whose token is lower than one
// already admitted is refused. Names are independent: operations on different
// names run in parallel. A Guard from OpenFile writes a raised token to disk
// (write a temporary file, fsync, rename, fsync the directory) before it
// admits anything with that token, so a restarted resource still refuses the
// holders it refused before; an equal token costs no write.
//
// # 5. What it does not do
//
// The Guard trusts the tokens and the names it is given: Guard.Do cannot
// tell whether a name is the one that protects what op writes (bind it with
// Resource, or derive it with a Route). It cannot tell a forged or buggy
// token from a real one either, and one absurdly high token locks a name
// out for good: authenticate the callers. It never forgets a name, so memory and the file
// grow with the number of distinct names. It fences one resource: a holder
// that writes to two resources is fenced at each separately. It does not make
// the operation itself durable or idempotent; an operation that fails after
// its token was admitted leaves the token admitted. Only one Guard may use a
// file at a time; nothing locks the file against a second process.
//
// # 6. Testing map
//
//   - guard_test.go: table tests of the rules in section 3, a concurrent
//     test under the race detector showing applied operations stay in order,
//     Resource, and a Do waiting on the lock refused by Close.
//   - property_test.go: a rapid property test of delayed, reordered writes
//     from a sequence of tenures.
//   - file_test.go: restart, corrupt files, failing writes.
//   - http_test.go: the middleware's 400, 409, 503 and 200 answers, routes
//     that name nothing, and other spellings of a name ("DB", "db#0", NFD
//     "café") in Lease-Name refused.
package fence
