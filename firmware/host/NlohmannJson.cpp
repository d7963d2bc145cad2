#include "NlohmannJson.h"

namespace thingsnxt {

namespace {

JsonValue toValue(const nlohmann::json* value) {
  JsonValue result;
  if (value == nullptr || value->is_null()) return result;
  if (value->is_boolean()) {
    result.type = JsonType::Bool;
    result.boolean = value->get<bool>();
  } else if (value->is_number()) {
    result.type = JsonType::Number;
    result.number = value->get<double>();
  } else if (value->is_string()) {
    result.type = JsonType::String;
    result.text = value->get<std::string>();
  } else {
    result.type = JsonType::Other;
  }
  return result;
}

const nlohmann::json* find(const nlohmann::json& object, const char* key) {
  if (!object.is_object()) return nullptr;
  auto it = object.find(key);
  return it == object.end() ? nullptr : &*it;
}

}  // namespace

bool NlohmannJsonReader::parse(const std::string& body) {
  document_ = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  return document_.is_object();
}

JsonValue NlohmannJsonReader::member(const char* key) const { return toValue(find(document_, key)); }

JsonValue NlohmannJsonReader::member(const char* parent, const char* key) const {
  const nlohmann::json* object = find(document_, parent);
  return toValue(object ? find(*object, key) : nullptr);
}

std::vector<JsonPair> NlohmannJsonReader::pairs(const char* key) const {
  std::vector<JsonPair> found;
  const nlohmann::json* array = find(document_, key);
  if (array == nullptr || !array->is_array()) return found;
  for (const nlohmann::json& element : *array) {
    if (element.is_array() && element.size() == 2 && element[0].is_string() && element[1].is_number()) {
      found.push_back({element[0].get<std::string>(), element[1].get<double>()});
    }
  }
  return found;
}

void NlohmannJsonWriter::begin() {
  document_ = nlohmann::ordered_json::object();
  open_.assign(1, &document_);
}

nlohmann::ordered_json& NlohmannJsonWriter::child(const char* key) {
  nlohmann::ordered_json& container = *open_.back();
  if (key == nullptr) {
    container.push_back(nullptr);
    return container.back();
  }
  return container[key];
}

void NlohmannJsonWriter::openObject(const char* key) {
  nlohmann::ordered_json& object = child(key);
  object = nlohmann::ordered_json::object();
  open_.push_back(&object);
}

void NlohmannJsonWriter::openArray(const char* key) {
  nlohmann::ordered_json& array = child(key);
  array = nlohmann::ordered_json::array();
  open_.push_back(&array);
}

void NlohmannJsonWriter::close() { open_.pop_back(); }

void NlohmannJsonWriter::add(const char* key, const char* value) { child(key) = value; }
void NlohmannJsonWriter::add(const char* key, int32_t value) { child(key) = value; }
void NlohmannJsonWriter::add(const char* key, uint64_t value) { child(key) = value; }
void NlohmannJsonWriter::add(const char* key, double value) { child(key) = value; }
void NlohmannJsonWriter::add(const char* key, bool value) { child(key) = value; }

std::string NlohmannJsonWriter::finish() {
  return document_.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

}  // namespace thingsnxt
