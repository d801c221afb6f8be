#pragma once

// Factories of the Linux collectors, one per check (see collector.h). MakePlatformCollectors()
// puts them together. Each lives in the file named after its check.

#include <memory>

#include "agent/collect/collector.h"

namespace vigil::agent {

std::unique_ptr<Collector> MakeInventoryCollector();     // inventory.cc
std::unique_ptr<Collector> MakeCpuCollector();           // resources.cc
std::unique_ptr<Collector> MakeMemoryCollector();        // resources.cc
std::unique_ptr<Collector> MakeSwapCollector();          // resources.cc
std::unique_ptr<Collector> MakeDiskCollector();          // resources.cc
std::unique_ptr<Collector> MakeSmartCollector();         // tool_checks.cc
std::unique_ptr<Collector> MakeUpdatesCollector();       // updates.cc
std::unique_ptr<Collector> MakeAntivirusCollector();     // antivirus.cc
std::unique_ptr<Collector> MakeBackupCollector();        // tool_checks.cc
std::unique_ptr<Collector> MakeFirewallCollector();      // firewall.cc
std::unique_ptr<Collector> MakeServicesCollector();      // services.cc
std::unique_ptr<Collector> MakeCertificatesCollector();  // certificates.cc
std::unique_ptr<Collector> MakeReachabilityCollector();  // reachability.cc
std::unique_ptr<Collector> MakePluginCollector();        // tool_checks.cc

}  // namespace vigil::agent
