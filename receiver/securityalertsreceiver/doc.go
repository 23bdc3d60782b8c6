// Package securityalertsreceiver is the securityalerts receiver: it wires the polling engine
// (internal/engine) and the vendor clients (internal/usmanywhere, …) into the collector, converts
// records to log records and metrics, and stores checkpoints through a storage extension.
//
//go:generate ../../.tools/bin/mdatagen metadata.yaml
package securityalertsreceiver
