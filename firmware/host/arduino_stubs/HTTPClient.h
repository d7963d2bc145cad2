// Declarations of the arduino-esp32 HTTPClient API the sketch uses (see README.md).
#pragma once

#include "WiFi.h"

class HTTPClient {
 public:
  HTTPClient();
  ~HTTPClient();
  bool begin(WiFiClient& client, String url);
  void end(void);
  void setReuse(bool reuse);
  void setTimeout(uint16_t timeout);
  void setConnectTimeout(int32_t connectTimeout);
  int GET();
  int POST(uint8_t* payload, size_t size);
  void addHeader(const String& name, const String& value, bool first = false, bool replace = true);
  void collectHeaders(const char* headerKeys[], const size_t headerKeysCount);
  String header(const char* name);
  String getString(void);
  static String errorToString(int error);
};
