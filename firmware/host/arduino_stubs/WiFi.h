// Declarations of the arduino-esp32 WiFi API the sketch uses (see README.md).
#pragma once

#include "Arduino.h"

typedef enum {
  WL_IDLE_STATUS = 0,
  WL_NO_SSID_AVAIL = 1,
  WL_SCAN_COMPLETED = 2,
  WL_CONNECTED = 3,
  WL_CONNECT_FAILED = 4,
  WL_CONNECTION_LOST = 5,
  WL_DISCONNECTED = 6,
} wl_status_t;

typedef enum { WIFI_MODE_NULL = 0, WIFI_MODE_STA, WIFI_MODE_AP, WIFI_MODE_APSTA } wifi_mode_t;
#define WIFI_STA WIFI_MODE_STA

class IPAddress {
 public:
  String toString() const;
};

class WiFiClient {
 public:
  WiFiClient();
  virtual ~WiFiClient();
  virtual int connect(const char* host, uint16_t port);
  virtual uint8_t connected();
  virtual void stop();
};

class WiFiClass {
 public:
  bool mode(wifi_mode_t mode);
  wl_status_t begin(const char* ssid, const char* passphrase = nullptr);
  bool disconnect(bool wifioff = false, bool eraseap = false);
  wl_status_t status();
  bool setAutoReconnect(bool autoReconnect);
  IPAddress localIP();
  int8_t RSSI();
  uint8_t* macAddress(uint8_t* mac);
};
extern WiFiClass WiFi;
