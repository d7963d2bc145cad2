// Serial provisioning: runs the commands of Provisioning.h against the
// configuration, saves it, and tells the sketch what else must happen.
#pragma once

#include <string>

#include "Config.h"
#include "DeviceCore.h"
#include "KeyPin.h"
#include "Log.h"
#include "Provisioning.h"

namespace thingsnxt {

enum class ConsoleEffect {
  None,
  ApiConfigChanged,   // call configure() on the client
  WifiConfigChanged,  // reconnect with the new network
  Reboot,
};

class Console {
 public:
  // A PEM root certificate is about 2 KB; Preferences strings hold up to 4000 bytes.
  static constexpr size_t kMaxCertificateLength = 4000;

  // `certificates` checks a pasted root CA before it is saved.
  Console(DeviceConfig& config, ConfigStore& store, DeviceCore& client, Log& log, TextSink& out,
          CertificateParser& certificates);

  ConsoleEffect handleLine(const std::string& line);
  bool collectingCertificate() const { return collectingCertificate_; }

 private:
  ConsoleEffect collectCertificateLine(const std::string& line);
  ConsoleEffect finishCertificate();
  ConsoleEffect applySetting(const Command& command);
  ConsoleEffect save(ConsoleEffect effect, const char* what);
  void printHelp();
  void printConfig();
  void reply(const std::string& text) { out_.writeLine(text.c_str()); }

  DeviceConfig& config_;
  ConfigStore& store_;
  DeviceCore& client_;
  Log& log_;
  TextSink& out_;
  CertificateParser& certificates_;
  bool collectingCertificate_ = false;
  std::string certificate_;
};

}  // namespace thingsnxt
