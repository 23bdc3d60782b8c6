// Package simtest runs the receiver against the bundled simulator of the four vendors' APIs: every
// record of a simulated backlog arriving through faults, token revocations, TLS and stalls. It is
// a module of its own so that the simulator, which lives in the repository's root module, stays
// out of the receiver's: a distribution that imports the receiver does not download it.
package simtest
