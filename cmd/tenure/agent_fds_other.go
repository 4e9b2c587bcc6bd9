//go:build !unix

package main

// raiseOpenFileLimit reports that the limit cannot be read here.
func raiseOpenFileLimit() (uint64, bool) { return 0, false }
