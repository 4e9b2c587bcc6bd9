// Package docs holds no Go code: its directory holds the operations guide
// (operations.md). Its tests keep the guide true to the code: every error
// message its troubleshooting table quotes, every metric and every
// TENURE_* variable it names, and every file of the repo it points to
// must exist.
package docs
