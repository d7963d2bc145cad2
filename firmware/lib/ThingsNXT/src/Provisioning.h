// The serial provisioning language:
//   help | show | stats | reboot | debug <0-3>
//   set id <device id> | set token <token> | set url <base url>
//   set wifi <ssid> [password]      (quote a name with spaces: set wifi "My Home" pw)
//   set ca                          then paste a PEM certificate, or
//   set ca default                  back to the CA built into the firmware
//   set provisioning <key> <secret> a fleet key: the device obtains its own id and token
//   set provisioning off
//   set pin <sha256 of the server's public key, 64 hex>   |   set pin off
#pragma once

#include <cstdint>
#include <string>

namespace thingsnxt {

enum class CommandType {
  Empty,
  Help,
  Show,
  Stats,
  Reboot,
  Debug,
  SetId,
  SetToken,
  SetUrl,
  SetWifi,
  SetCa,         // the PEM follows on the next lines
  SetCaDefault,
  SetProvisioning,  // value: key, secret: secret; both empty for "off"
  SetPin,           // value: 64 lowercase hex, or empty for "off"
  Invalid,
};

struct Command {
  CommandType type = CommandType::Empty;
  std::string value;   // id, token, url, WiFi name, provisioning key or pin
  std::string secret;  // WiFi password or provisioning secret
  uint8_t level = 0;   // debug level
  std::string error;   // why the line was Invalid
};

// Parses and validates one line; an Invalid command says why in `error`.
Command parseCommand(const std::string& line);

}  // namespace thingsnxt
