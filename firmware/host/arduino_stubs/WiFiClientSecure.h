// Declarations of the arduino-esp32 WiFiClientSecure API the sketch uses (see README.md).
#pragma once

#include "WiFi.h"
#include "mbedtls/x509_crt.h"

class WiFiClientSecure : public WiFiClient {
 public:
  WiFiClientSecure();
  ~WiFiClientSecure() override;
  void setCACert(const char* rootCA);
  void setHandshakeTimeout(unsigned long handshake_timeout);  // seconds; the default is 120
  int connect(const char* host, uint16_t port) override;
  uint8_t connected() override;
  void stop() override;
  const mbedtls_x509_crt* getPeerCertificate();
};
