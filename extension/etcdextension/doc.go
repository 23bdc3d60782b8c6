// Package etcdextension is the etcd extension: one etcd session per collector, through which
// replicas of the same configuration share checkpoints (the storage extension API, writes fenced
// by leadership) and elect one owner per key (the securityalerts receiver's streams), spread over
// the live replicas. docs/scaling.md describes the design.
//
//go:generate ../../.tools/bin/mdatagen metadata.yaml
package etcdextension
