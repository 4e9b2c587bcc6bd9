package agent

import "github.com/tenure-dev/tenure/api"

// The JSON types of the HTTP API live in package api, with the client, so
// that a program talking to an agent links neither the node nor
// memberlist. The server's code names them through these aliases; code
// outside this package uses package api.

// Duration is api.Duration.
type Duration = api.Duration

// Token is api.Token.
type Token = api.Token

// MaxNumberToken is api.MaxNumberToken.
const MaxNumberToken = api.MaxNumberToken

// LeaseKeyHeader is api.LeaseKeyHeader.
const LeaseKeyHeader = api.LeaseKeyHeader

// AcquireRequest is api.AcquireRequest.
type AcquireRequest = api.AcquireRequest

// KeepaliveRequest is api.KeepaliveRequest.
type KeepaliveRequest = api.KeepaliveRequest

// Grant is api.Grant.
type Grant = api.Grant

// HolderHint is api.HolderHint.
type HolderHint = api.HolderHint

// ErrorResponse is api.ErrorResponse.
type ErrorResponse = api.ErrorResponse

// Member is api.Member.
type Member = api.Member

// Members is api.Members.
type Members = api.Members

// Quorum is api.Quorum.
type Quorum = api.Quorum

// NodeState is api.NodeState.
type NodeState = api.NodeState

// Leases is api.Leases.
type Leases = api.Leases

// VoterLeases is api.VoterLeases.
type VoterLeases = api.VoterLeases

// ErrBadName is api.ErrBadName: it wraps every lease name the HTTP API
// refuses (HTTP 400).
var ErrBadName = api.ErrBadName

// CheckName is api.CheckName: the lease names the HTTP API serves.
func CheckName(name string) error { return api.CheckName(name) }

// QuoteName is api.QuoteName: name as it may be shown to a person.
func QuoteName(name string) string { return api.QuoteName(name) }
