// Package packaging holds no Go code: its directory ships the systemd unit
// (systemd/), its environment file example, and the container image
// definition (container/) for the tenure binary. Its tests check them:
// `systemd-analyze verify` on the unit, every TENURE_* variable of the
// example against the flags of `tenure agent`, an agent started from the
// example, and the image built and run with podman.
package packaging
