#include "Provisioning.h"

#include <vector>

#include "Config.h"
#include "KeyPin.h"
#include "Url.h"

namespace thingsnxt {

namespace {

bool isSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// Splits on blanks; "double quotes" keep blanks inside one word. False on an
// unclosed quote.
bool splitWords(const std::string& line, std::vector<std::string>& words) {
  size_t i = 0;
  while (i < line.size()) {
    if (isSpace(line[i])) {
      ++i;
      continue;
    }
    std::string word;
    if (line[i] == '"') {
      size_t close = line.find('"', i + 1);
      if (close == std::string::npos) return false;
      word = line.substr(i + 1, close - i - 1);
      i = close + 1;
    } else {
      while (i < line.size() && !isSpace(line[i])) word += line[i++];
    }
    words.push_back(word);
  }
  return true;
}

Command invalid(const std::string& why) {
  Command command;
  command.type = CommandType::Invalid;
  command.error = why;
  return command;
}

Command withValue(CommandType type, const std::string& value) {
  Command command;
  command.type = type;
  command.value = value;
  return command;
}

Command parseProvisioning(const std::vector<std::string>& words) {
  if (words.size() == 3 && words[2] == "off") return withValue(CommandType::SetProvisioning, "");
  if (words.size() != 4) return invalid("usage: set provisioning <key> <secret>, or: set provisioning off");
  if (!isValidDeviceToken(words[2]) || !isValidDeviceToken(words[3])) {
    return invalid("a provisioning key and secret are 16 to 128 characters of A-Z a-z 0-9 - _");
  }
  Command command = withValue(CommandType::SetProvisioning, words[2]);
  command.secret = words[3];
  return command;
}

Command parsePin(const std::vector<std::string>& words) {
  if (words.size() != 3) return invalid("usage: set pin <sha256 of the server's public key>, or: set pin off");
  if (words[2] == "off") return withValue(CommandType::SetPin, "");
  const std::string pin = normalizeKeyPin(words[2]);
  if (pin.empty()) return invalid("a key pin is the SHA-256 of the server's public key: 64 hex characters");
  return withValue(CommandType::SetPin, pin);
}

Command parseSet(const std::vector<std::string>& words) {
  const std::string what = words.size() > 1 ? words[1] : "";
  if (what == "provisioning") return parseProvisioning(words);
  if (what == "pin") return parsePin(words);
  if (what == "ca") {
    if (words.size() == 2) return withValue(CommandType::SetCa, "");
    if (words.size() == 3 && words[2] == "default") return withValue(CommandType::SetCaDefault, "");
    return invalid("usage: set ca   (then paste the PEM), or: set ca default");
  }
  if (what == "wifi") {
    if (words.size() < 3 || words.size() > 4) return invalid("usage: set wifi <ssid> [password]");
    if (words[2].empty() || words[2].size() > 32) return invalid("a WiFi name has 1 to 32 characters");
    Command command = withValue(CommandType::SetWifi, words[2]);
    if (words.size() == 4) command.secret = words[3];
    if (command.secret.size() > 63) return invalid("a WiFi password has at most 63 characters");
    return command;
  }
  if (words.size() != 3) {
    return invalid("usage: set id|token|url|pin <value>, set wifi <ssid> [password], set provisioning <key> <secret>, set ca");
  }
  const std::string& value = words[2];
  if (what == "id") {
    if (!isValidDeviceId(value)) return invalid("a device id is 24 lowercase hex characters");
    return withValue(CommandType::SetId, value);
  }
  if (what == "token") {
    if (!isValidDeviceToken(value)) return invalid("a token is 16 to 128 characters of A-Z a-z 0-9 - _");
    return withValue(CommandType::SetToken, value);
  }
  if (what == "url") {
    Url parsed;
    std::string why;
    if (!parseUrl(value, parsed, why)) return invalid(why);
    switch (classifyBaseUrl(value)) {
      case UrlSecurity::Invalid: return invalid("the url must start with https:// (or http:// for a development server)");
      case UrlSecurity::PublicHttp: return invalid("plain http:// is only for development servers (localhost, LAN, .local); use https://");
      default: return withValue(CommandType::SetUrl, value);
    }
  }
  return invalid("unknown setting '" + what + "': id, token, url, wifi, ca, pin or provisioning");
}

}  // namespace

Command parseCommand(const std::string& line) {
  std::vector<std::string> words;
  if (!splitWords(line, words)) return invalid("unclosed quote");
  if (words.empty()) return Command();
  const std::string& verb = words[0];
  if (verb == "set") return parseSet(words);
  if (verb == "debug") {
    if (words.size() != 2 || words[1].size() != 1 || words[1][0] < '0' || words[1][0] > '3') {
      return invalid("usage: debug 0-3");
    }
    Command command = withValue(CommandType::Debug, "");
    command.level = static_cast<uint8_t>(words[1][0] - '0');
    return command;
  }
  if (words.size() == 1) {
    if (verb == "help") return withValue(CommandType::Help, "");
    if (verb == "show") return withValue(CommandType::Show, "");
    if (verb == "stats") return withValue(CommandType::Stats, "");
    if (verb == "reboot") return withValue(CommandType::Reboot, "");
  }
  return invalid("unknown command '" + line + "' (type help)");
}

}  // namespace thingsnxt
