// Package agent serves a tenure node over HTTP: the JSON API that lets
// programs in any language take fenced leases through a local agent, the
// bookkeeping of the leases held on their behalf, and Prometheus metrics.
//
// # API
//
// All lease calls live under /v1 and speak JSON:
//
//	POST   /v1/leases/{name}            acquire (body AcquireRequest), waiting up to "wait"
//	POST   /v1/leases/{name}/keepalive  keep a lease alive (body KeepaliveRequest)
//	DELETE /v1/leases/{name}?token=T    release one tenure
//	GET    /v1/leases/{name}            the voters' hint of who holds it (R14)
//	GET    /v1/leases                   the leases held through this agent
//	GET    /v1/members                  gossip members and the voter quorum
//	GET    /healthz                     liveness (no token needed)
//	GET    /metrics                     Prometheus text format
//
// # Lease lifecycle
//
// The node under the agent renews a lease by itself, at about half its TTL.
// The agent keeps renewing only while the client shows it is still there,
// in one of two ways. Keepalive mode (the default): the client calls
// keepalive with the token at least once per TTL; a TTL without one and the
// agent releases the lease. Hold mode ("hold": true): the acquire response
// is a stream of newline-delimited JSON events ("acquired", "renewed" ...,
// then "lost" or "released"), and the lease lives as long as the
// connection: closing it releases the lease.
//
// # Deadlines
//
// Every grant and keepalive answer carries deadline_ms: how long from the
// moment the agent answered until the holder must have stopped acting.
// A client computes its own deadline as the instant it SENT the request
// plus deadline_ms. That is never later than the agent's own deadline, so
// a client whose agent stops answering stops in time on its own, without
// being told. Only the holder knows it holds a lease (R14): GET on a lease
// name returns a hint, labelled as such.
//
// # Security
//
// With Config.Token set, every call except /healthz must carry
// "Authorization: Bearer <token>", compared in constant time. Fencing
// tokens are not secrets (the holder hint shows them); the bearer token is
// the access control, and clients of one agent share its trust.
package agent
