// Declarations of the arduino-esp32 core API the sketch uses (see README.md).
#pragma once

#include <cstddef>
#include <cstdint>
#include <ctime>

#define HIGH 0x1
#define LOW 0x0
#define OUTPUT 0x03

class String {
 public:
  String(const char* text = "");
  String(const String& other);
  String& operator=(const String& other);
  ~String();
  const char* c_str() const;
  unsigned int length() const;
};
String operator+(const String& left, const char* right);

class HardwareSerial {
 public:
  void begin(unsigned long baud);
  size_t setRxBufferSize(size_t new_size);  // before begin(); the default is 256 bytes
  int available();
  int read();
  void flush();
  size_t println(const char* text);
};
extern HardwareSerial Serial;

class EspClass {
 public:
  uint32_t getFreeHeap();
  uint32_t getMinFreeHeap();   // the lowest free heap since boot
  uint32_t getMaxAllocHeap();  // the largest block that can be allocated
  void restart();
};
extern EspClass ESP;

void pinMode(uint8_t pin, uint8_t mode);
void digitalWrite(uint8_t pin, uint8_t value);
void delay(uint32_t ms);
unsigned long millis();
float temperatureRead();
uint32_t esp_random(void);
void configTime(long gmtOffset_sec, int daylightOffset_sec, const char* server1, const char* server2 = nullptr,
                const char* server3 = nullptr);
