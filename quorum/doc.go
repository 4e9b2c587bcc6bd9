// Package quorum decides majorities over a fixed, configured set of voter
// names.
//
// Two rules of the lease protocol live here (see DESIGN.md):
//
//   - R1 Fixed voters: the set is a configured list, never derived from gossip
//     membership. A partition makes memberlist declare the far side dead, and
//     a "majority of the live members" computed on each side would grant a
//     lease twice.
//   - R2 Count by identity: a vote is recorded against the voter's name, so a
//     duplicated datagram or a retried answer can never count twice.
//
// The package imports nothing beyond the standard library and holds no
// goroutines, clocks or randomness.
package quorum
