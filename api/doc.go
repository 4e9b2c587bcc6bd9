// Package api is the client side of the agent's HTTP API: the JSON types
// of its requests and answers, the Go client (Client), and the lease-name
// checks and quoting that client and server share. It imports neither the
// node nor memberlist, so a program that only talks to an agent links
// neither; the server is package agent, whose documentation describes the
// routes, the client rules (deadline, lease key, tokens as strings) and the
// limits.
//
// Send a lease name through Client as it is: Client percent-encodes it as
// one URL path segment ("/" as %2F, "." and ".." as %2E), so that every
// name CheckName accepts reaches the agent unchanged. Show a name to a
// person through QuoteName.
package api
