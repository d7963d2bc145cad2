// Declarations of the arduino-esp32 WiFiClientSecure API the sketch uses (see README.md).
#pragma once

#include "WiFi.h"

class WiFiClientSecure : public WiFiClient {
 public:
  WiFiClientSecure();
  ~WiFiClientSecure() override;
  void setCACert(const char* rootCA);
};
