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
