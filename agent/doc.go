// Package agent serves a tenure node over HTTP: the JSON API that lets
// programs in any language take fenced leases through a local agent, the
// bookkeeping of the leases held on their behalf, and Prometheus metrics.
//
// # API
//
// All lease calls live under /v1 and speak JSON:
//
//	POST   /v1/leases/{name}            acquire (body AcquireRequest), waiting up to "wait"
//	POST   /v1/leases/{name}/keepalive  keep a lease alive (body KeepaliveRequest; lease key)
//	DELETE /v1/leases/{name}?token=T    release one tenure (lease key)
//	GET    /v1/leases/{name}            the voters' hint of who holds it (R14)
//	GET    /v1/leases                   the leases held through this agent
//	GET    /v1/members                  gossip members and the voter quorum
//	GET    /v1/voters                   the adopted voter configuration (api.Voters)
//	PUT    /v1/voters                   change the voters online (body SetVotersRequest), answered when done
//	GET    /healthz                     liveness (no token needed)
//	GET    /readyz                      readiness: 200 when a majority of voters answers and this node is out of quarantine, else 503 with the reason
//	GET    /metrics                     Prometheus text format
//
// # What a client must do
//
// Three rules; examples/python/lease.py and `tenure lock` follow them.
//
// The deadline. Every answer about a tenure carries deadline_ms. Read the
// time just before SENDING each request (acquire or keepalive; for a hold
// stream, its one acquire request); your deadline is that instant plus
// deadline_ms, by your own clock, the latest over all your answers. Stop
// acting under the tenure by then, whatever else happens. The agent
// computes deadline_ms as floor((D - R) * (1-ε)/(1+ε)), where D is its own
// deadline for the tenure, R the instant it received your request, and ε
// the cluster's clock-drift bound (R16). Because you sent before it
// received, your deadline ends before D in real time even if your clock
// runs on another host and drifts by up to ε, and however long the request
// waited or the answer travelled. An acquire that waited for the lease is
// not penalised: D - R includes the wait. After a long wait the remaining
// time can still be short (the answer itself may have been slow): if less
// than half the TTL is left, send one keepalive before acting.
//
// The lease key. The acquire answer (the "acquired" event of a hold
// stream) carries lease_key, 128 random bits in hex, given to you alone.
// Keepalive and DELETE must send it, in the Tenure-Lease-Key header (a
// keepalive may also send it as "lease_key" in its body); a missing or
// wrong key gets 403 and changes nothing. The fencing token is public (the
// holder hint and GET /v1/leases show it; every resource sees it), so the
// token alone proves nothing. No listing ever shows a lease key.
//
// Tokens are strings. Every "token" in an answer is a JSON string of the
// decimal uint64, such as "7714385923475603457": tokens exceed 2^53, where
// JSON numbers lose precision in JavaScript and many other libraries.
// Requests may send a token as such a string, or as a JSON number only up
// to 2^53-1 (MaxNumberToken); a larger number is refused with 400.
//
// # Lease lifecycle
//
// The node under the agent renews a lease by itself, at about half its
// TTL. The agent keeps renewing only while the client shows it is still
// there, in one of two ways. Keepalive mode (the default): each keepalive
// sets the agent's expiry to its receipt plus the TTL (the grant counts as
// the first); a keepalive received at or after the expiry gets 410 and
// changes nothing, and at the expiry the agent releases the lease. That is
// safe because every deadline_ms it handed out ends before the expiry in
// real time. Hold mode ("hold": true): the acquire response is a stream of
// newline-delimited JSON events ("acquired", "renewed" ..., then "lost",
// "released" or "stopping"), every deadline_ms counted from the receipt of
// that one request, so add each to the instant you sent it. A stream that
// breaks does not free the lease at once: the agent releases it when the
// last deadline the stream told has passed. Hold-mode deadlines lose about
// 2ε of every second the stream lasts (the rule scales the whole span
// since the request): after roughly (TTL/2)/(2ε) of stream age (about 40
// minutes for a 10s TTL with the default ε of 1e-3) each event's deadline
// has passed by the time it arrives. For longer tenures use keepalive
// mode, whose deadlines count from each keepalive.
//
// Only the holder's own DELETE frees a lease early (R15). When the agent
// stops (SIGTERM, Agent.Close) it releases nothing: keepalive and DELETE
// answer 503, hold streams end with a "stopping" event that repeats the
// last deadline_ms, and the node's Leave abandons the tenures, which the
// voters let expire. A client keeps acting until its own deadline; a
// client of another agent waiting for the lease gets it once the voters'
// lease has run out, no earlier than that deadline.
//
// # Deadlines are knowledge, holders are hints
//
// A client whose agent stops answering stops in time on its own, without
// being told: its deadline needs nothing but its own clock. Only the
// holder knows it holds a lease (R14): GET on a lease name returns a hint,
// labelled as such.
//
// # Security
//
// With Config.Token set, every call except /healthz must carry
// "Authorization: Bearer <token>" (the scheme in any case, RFC 7235),
// compared in constant time. The bearer token is the access control for
// the agent; the lease key is the proof, among the agent's clients, of
// holding one tenure (compared in constant time too). Fencing tokens are
// not secrets.
//
// Without a token the agent trusts every process that can reach its
// address, which is why it must listen on loopback only. It does not
// trust web pages, which a browser on the same host would otherwise let
// reach it: it refuses a Host other than localhost or an IP address
// (421: DNS rebinding gives a page's own host name), any request with an
// Origin header (403: browsers send one with every cross-origin request
// and every POST), and a request other than GET and HEAD whose body is not
// declared "Content-Type: application/json" (415; an empty body may come
// without a Content-Type). With a token none of these apply: a page
// cannot learn it.
//
// # Names
//
// Lease names are those of the protocol, minus "." and ".." (URL
// dot-segments, which clients and proxies remove from paths) and minus
// names with invisible runes (format characters such as the bidi
// override U+202E or the zero-width space U+200B, other default-ignorable
// code points, non-ASCII spaces): see api.CheckName. They get 400. Send a name
// as one URL path segment, percent-encoded (api.Client does; "/" as %2F).
//
// # Limits
//
// Every request must send its headers, then its body, within
// Config.ReadTimeout (408 for a late body; the connection is closed).
// Serve the API with HTTPServer on Listener: the listener holds at most
// Config.MaxConns connections and answers the next 503 at once;
// connections idle for Config.IdleTimeout are closed. At most
// Config.MaxWatches watch streams and Config.MaxHolds hold-mode acquires
// run at once; the next gets 503 with Retry-After. All the watch streams
// of one name share one observer of the voters. A request refused before
// any handler (421, 403, 415, 401, 408) has its connection closed after
// the answer; every refusal, these and the three caps, counts in
// tenure_http_refused_total by reason. Reuse one connection (HTTP
// keep-alive): a connection in hand is never refused by the connection
// cap.
package agent
