#include "KeyPin.h"

namespace thingsnxt {

namespace {

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string base64(const uint8_t* data, size_t size) {
  static const char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string text;
  for (size_t i = 0; i < size; i += 3) {
    const uint32_t chunk = (static_cast<uint32_t>(data[i]) << 16) | (i + 1 < size ? data[i + 1] << 8 : 0) |
                           (i + 2 < size ? data[i + 2] : 0);
    text += kAlphabet[(chunk >> 18) & 63];
    text += kAlphabet[(chunk >> 12) & 63];
    text += i + 1 < size ? kAlphabet[(chunk >> 6) & 63] : '=';
    text += i + 2 < size ? kAlphabet[chunk & 63] : '=';
  }
  return text;
}

}  // namespace

bool parseKeyPin(const std::string& text, uint8_t (&digest)[kSha256Bytes]) {
  size_t nibbles = 0;
  for (char c : text) {
    if (c == ':') continue;
    const int value = hexValue(c);
    if (value < 0 || nibbles == 2 * kSha256Bytes) return false;
    digest[nibbles / 2] = static_cast<uint8_t>(nibbles % 2 == 0 ? value << 4 : digest[nibbles / 2] | value);
    ++nibbles;
  }
  return nibbles == 2 * kSha256Bytes;
}

std::string normalizeKeyPin(const std::string& text) {
  uint8_t digest[kSha256Bytes];
  if (!parseKeyPin(text, digest)) return "";
  static const char kHex[] = "0123456789abcdef";
  std::string pin;
  for (uint8_t byte : digest) {
    pin += kHex[byte >> 4];
    pin += kHex[byte & 15];
  }
  return pin;
}

bool keyPinAccepts(const std::string& pin, const uint8_t (&presented)[kSha256Bytes]) {
  if (pin.empty()) return true;
  uint8_t expected[kSha256Bytes];
  if (!parseKeyPin(pin, expected)) return false;
  uint8_t difference = 0;
  for (size_t i = 0; i < kSha256Bytes; ++i) difference |= static_cast<uint8_t>(expected[i] ^ presented[i]);
  return difference == 0;
}

std::string curlPinnedKey(const std::string& pin) {
  uint8_t digest[kSha256Bytes];
  if (!parseKeyPin(pin, digest)) return "";
  return "sha256//" + base64(digest, kSha256Bytes);
}

}  // namespace thingsnxt
