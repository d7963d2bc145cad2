#include "Console.h"

namespace thingsnxt {

namespace {

const char kBeginCertificate[] = "-----BEGIN CERTIFICATE-----";
const char kEndCertificate[] = "-----END CERTIFICATE-----";

std::string trimmed(const std::string& text) {
  size_t begin = text.find_first_not_of(" \t\r\n");
  if (begin == std::string::npos) return "";
  return text.substr(begin, text.find_last_not_of(" \t\r\n") - begin + 1);
}

std::string orNotSet(const std::string& value) { return value.empty() ? "(not set)" : value; }

}  // namespace

Console::Console(DeviceConfig& config, ConfigStore& store, DeviceCore& client, Log& log, TextSink& out,
                 CertificateParser& certificates)
    : config_(config), store_(store), client_(client), log_(log), out_(out), certificates_(certificates) {}

ConsoleEffect Console::handleLine(const std::string& line) {
  if (collectingCertificate_) return collectCertificateLine(line);
  const Command command = parseCommand(line);
  switch (command.type) {
    case CommandType::Empty: return ConsoleEffect::None;
    case CommandType::Invalid: reply("error: " + command.error); return ConsoleEffect::None;
    case CommandType::Help: printHelp(); return ConsoleEffect::None;
    case CommandType::Show: printConfig(); return ConsoleEffect::None;
    case CommandType::Stats: client_.reportStats(out_); return ConsoleEffect::None;
    case CommandType::Reboot: reply("ok: rebooting"); return ConsoleEffect::Reboot;
    case CommandType::Debug:
      config_.debugLevel = command.level;
      log_.setLevel(command.level);
      return save(ConsoleEffect::None, "debug level");
    default: return applySetting(command);
  }
}

ConsoleEffect Console::applySetting(const Command& command) {
  switch (command.type) {
    case CommandType::SetId: config_.deviceId = command.value; return save(ConsoleEffect::ApiConfigChanged, "device id");
    case CommandType::SetToken: config_.deviceToken = command.value; return save(ConsoleEffect::ApiConfigChanged, "token");
    case CommandType::SetUrl: config_.apiBaseUrl = command.value; return save(ConsoleEffect::ApiConfigChanged, "server url");
    case CommandType::SetWifi:
      config_.wifiSsid = command.value;
      config_.wifiPassword = command.secret;
      return save(ConsoleEffect::WifiConfigChanged, "WiFi network");
    case CommandType::SetCaDefault: config_.rootCaPem.clear(); return save(ConsoleEffect::ApiConfigChanged, "root CA (built-in)");
    case CommandType::SetProvisioning:
      config_.provisioningKey = command.value;
      config_.provisioningSecret = command.secret;
      return save(ConsoleEffect::ApiConfigChanged, command.value.empty() ? "provisioning key (off)" : "provisioning key");
    case CommandType::SetPin:
      config_.serverKeyPin = command.value;
      return save(ConsoleEffect::ApiConfigChanged, command.value.empty() ? "key pin (off)" : "key pin");
    case CommandType::SetCa:
      collectingCertificate_ = true;
      certificate_.clear();
      reply("paste the PEM root certificate; it ends at the " + std::string(kEndCertificate) + " line");
      return ConsoleEffect::None;
    default: return ConsoleEffect::None;
  }
}

ConsoleEffect Console::collectCertificateLine(const std::string& line) {
  const std::string text = trimmed(line);
  if (text.empty()) return ConsoleEffect::None;
  if (certificate_.empty() && text != kBeginCertificate) {
    collectingCertificate_ = false;
    reply("error: a PEM certificate starts with " + std::string(kBeginCertificate) + "; root CA unchanged");
    return ConsoleEffect::None;
  }
  certificate_ += text + "\n";
  if (certificate_.size() > kMaxCertificateLength) {
    collectingCertificate_ = false;
    reply("error: certificate longer than " + std::to_string(kMaxCertificateLength) + " bytes; root CA unchanged");
    return ConsoleEffect::None;
  }
  if (text != kEndCertificate) return ConsoleEffect::None;
  return finishCertificate();
}

// Parsed by the TLS library before it is saved: text that merely sits
// between BEGIN and END lines would otherwise replace a working CA and cut
// the device off at its next connection.
ConsoleEffect Console::finishCertificate() {
  collectingCertificate_ = false;
  std::string why;
  if (!certificates_.parsePem(certificate_, why)) {
    reply("error: not a usable certificate (" + why + "); root CA unchanged");
    return ConsoleEffect::None;
  }
  config_.rootCaPem = certificate_;
  return save(ConsoleEffect::ApiConfigChanged, "root CA");
}

ConsoleEffect Console::save(ConsoleEffect effect, const char* what) {
  if (store_.save(config_)) {
    reply(std::string("ok: ") + what + " saved");
  } else {
    reply(std::string("error: ") + what + " set, but saving it failed; it is lost at reboot");
  }
  return effect;
}

void Console::printHelp() {
  static const char* const kLines[] = {
      "commands:",
      "  show                      the configuration (token masked)",
      "  stats                     counters, buffer, last HTTP status, uptime, free heap",
      "  set id <device id>        24 hex characters, from the dashboard",
      "  set token <token>         the device token, from the dashboard",
      "  set url <base url>        e.g. https://iot.example.com",
      "  set wifi <ssid> [pass]    quote a name with spaces: set wifi \"My Home\" secret",
      "  set ca                    then paste the server's root CA (PEM)",
      "  set ca default            use the root CA built into the firmware",
      "  set pin <sha256>|off      also require this server public key (SHA-256, 64 hex)",
      "  set provisioning <key> <secret>|off   a fleet key: the device gets its own id and token",
      "  debug <0-3>               0 errors, 1 events, 2 requests, 3 bodies",
      "  reboot",
  };
  for (const char* line : kLines) out_.writeLine(line);
}

void Console::printConfig() {
  reply("device id: " + orNotSet(config_.deviceId));
  reply("token: " + maskToken(config_.deviceToken));
  reply("server url: " + orNotSet(config_.apiBaseUrl));
  reply("wifi: " + orNotSet(config_.wifiSsid) + (config_.wifiPassword.empty() ? " (no password)" : " (password set)"));
  reply("root CA: " + (config_.rootCaPem.empty() ? std::string("built-in")
                                                  : "provisioned (" + std::to_string(config_.rootCaPem.size()) + " bytes)"));
  reply("key pin: " + (config_.serverKeyPin.empty() ? std::string("off (CA check only)") : config_.serverKeyPin));
  // Neither the key nor the secret is shown: both let anyone enrol devices.
  reply("provisioning key: " + std::string(config_.provisioningKey.empty() ? "(not set)" : "set") +
        (config_.provisioningSecret.empty() ? "" : ", secret set"));
  reply("debug level: " + std::to_string(config_.debugLevel));
}

}  // namespace thingsnxt
