#include "Reading.h"

#include <cstdio>
#include <cstring>

#include "Config.h"

namespace thingsnxt {

Field* Reading::slotFor(const char* key) {
  if (strlen(key) > kMaxFieldKeyLength || !isValidTelemetryKey(key)) return nullptr;
  for (size_t i = 0; i < count_; ++i) {
    if (strcmp(fields_[i].key, key) == 0) return &fields_[i];
  }
  if (count_ == kMaxReadingFields) return nullptr;
  Field* field = &fields_[count_++];
  strcpy(field->key, key);
  return field;
}

bool Reading::add(const char* key, int32_t value) {
  Field* field = slotFor(key);
  if (!field) return false;
  field->kind = Field::Kind::Int;
  field->integer = value;
  return true;
}

bool Reading::add(const char* key, double value) {
  Field* field = slotFor(key);
  if (!field) return false;
  field->kind = Field::Kind::Number;
  field->number = value;
  return true;
}

bool Reading::add(const char* key, bool value) {
  Field* field = slotFor(key);
  if (!field) return false;
  field->kind = Field::Kind::Bool;
  field->boolean = value;
  return true;
}

void Reading::encodeFields(ByteWriter& out) const {
  out.u8(count_);
  for (size_t i = 0; i < count_; ++i) {
    const Field& f = fields_[i];
    const size_t keyLength = strlen(f.key);
    out.u8(static_cast<uint8_t>(keyLength));
    out.bytes(f.key, keyLength);
    out.u8(static_cast<uint8_t>(f.kind));
    uint64_t bits = 0;
    switch (f.kind) {
      case Field::Kind::Int: bits = static_cast<uint32_t>(f.integer); break;
      case Field::Kind::Number: memcpy(&bits, &f.number, sizeof bits); break;
      case Field::Kind::Bool: bits = f.boolean ? 1 : 0; break;
    }
    out.u64(bits);
  }
}

bool Reading::decodeFields(ByteReader& in) {
  *this = Reading();
  const uint8_t count = in.u8();
  if (count > kMaxReadingFields) return false;
  for (uint8_t i = 0; i < count; ++i) {
    char key[kMaxFieldKeyLength + 1] = {};
    const uint8_t keyLength = in.u8();
    if (keyLength > kMaxFieldKeyLength) return false;
    in.bytes(key, keyLength);
    const uint8_t kind = in.u8();
    const uint64_t bits = in.u64();
    if (!in.ok()) return false;
    bool added = false;
    if (kind == static_cast<uint8_t>(Field::Kind::Int)) {
      added = add(key, static_cast<int32_t>(static_cast<uint32_t>(bits)));
    } else if (kind == static_cast<uint8_t>(Field::Kind::Number)) {
      double number;
      memcpy(&number, &bits, sizeof number);
      added = add(key, number);
    } else if (kind == static_cast<uint8_t>(Field::Kind::Bool)) {
      added = add(key, bits != 0);
    }
    if (!added) return false;
  }
  return in.ok();
}

std::string Reading::describe() const {
  std::string text;
  char value[32];
  for (size_t i = 0; i < count_; ++i) {
    const Field& f = fields_[i];
    switch (f.kind) {
      case Field::Kind::Int: snprintf(value, sizeof value, "%ld", static_cast<long>(f.integer)); break;
      case Field::Kind::Number: snprintf(value, sizeof value, "%g", f.number); break;
      case Field::Kind::Bool: snprintf(value, sizeof value, "%s", f.boolean ? "true" : "false"); break;
    }
    if (!text.empty()) text += ' ';
    text += f.key;
    text += '=';
    text += value;
  }
  return text;
}

}  // namespace thingsnxt
