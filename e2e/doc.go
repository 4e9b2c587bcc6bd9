// Package e2e holds the end-to-end tests of the tenure binary: it builds
// cmd/tenure, starts agents as separate processes on loopback, drives them
// over HTTP and with tenure lock, kills them with SIGKILL and SIGTERM, and
// runs the Python example against them. It has no code of its own.
package e2e
