// ThingsNXT ESP32 device firmware.
//
// Posts readings (the LED pins v0/v1 and the board's sensors) every 10 s,
// follows the state people set in the dashboard through a long-poll on
// /telemetry/latest and drives the LEDs from it (or, with
// board::kMqttBrokerUrl set, publishes and follows the state over MQTT), keeps readings in a ring in
// flash (NVS) while the server or WiFi is away and uploads them when it is
// back, also after a reboot. Provisioned over the serial monitor (115200
// baud; type `help`), or by the server itself with a fleet provisioning key.
// A task watchdog reboots it if the loop ever hangs. Firmware updates come
// over the air when the server offers one (Esp32Ota.h, docs/OTA.md).
//
// The protocol lives in the ThingsNXT library (firmware/lib/ThingsNXT), which
// is the same code the host tests run; the headers next to this file adapt
// it to the ESP32 (WiFi, HTTPClient, espMqttClient, Preferences, ArduinoJson 7).
// See firmware/README.md for wiring, building and the memory budget, and
// docs/ESP32_TELEMETRY_API_GUIDE.md for the API it speaks.

#include <Arduino.h>
#include <ThingsNXT.h>

#include "ArduinoJsonAdapter.h"
#include "BoardSensors.h"
#include "Esp32Board.h"
#include "Esp32Http.h"
#include "Esp32Mqtt.h"
#include "Esp32Ota.h"
#include "MbedTlsCertificates.h"
#include "NvsRecordStore.h"
#include "PreferencesConfigStore.h"
#include "SerialSink.h"
#include "WifiLink.h"
#include "board_config.h"

using thingsnxt::ConsoleEffect;

SerialSink serialSink;
thingsnxt::Log logger(serialSink);
Esp32Board esp32;
Esp32HttpTransport http;
ArduinoJsonReader jsonReader;
ArduinoJsonWriter jsonWriter;
thingsnxt::PinMap pins;
BoardSensors sensors;
NvsRecordStore flash;
PreferencesConfigStore store;
thingsnxt::DeviceConfig config;
thingsnxt::SavedConfig savedConfig(config, store);

// Only the transport board_config.h chooses is built: each client holds an
// offline buffer (about 29 KB of RAM).
static thingsnxt::DeviceCore& makeClient() {
  if (board::kMqttBrokerUrl[0] == '\0') {
    static thingsnxt::DeviceClient httpClient(board::clientSettings(), esp32, http, jsonReader, jsonWriter, pins,
                                              sensors, logger, &flash);
    httpClient.setCredentialSink(&savedConfig);
    return httpClient;
  }
  static Esp32MqttTransport mqtt;
  static thingsnxt::MqttDeviceClient mqttClient(board::clientSettings(), board::kMqttBrokerUrl, esp32, mqtt,
                                                jsonReader, jsonWriter, pins, sensors, logger, &flash);
  return mqttClient;
}
thingsnxt::DeviceCore& client = makeClient();
Esp32OtaSlot otaSlot;
MbedTlsSha256 otaHash;
thingsnxt::OtaUpdater ota(board::otaSettings(), http, jsonWriter, otaHash, otaSlot, logger, &flash);
MbedTlsCertificateParser certificates;
thingsnxt::Console console(config, store, client, logger, serialSink, certificates);
WifiLink wifi(logger);
thingsnxt::LineAssembler serialInput;

static void handleConsoleLine(const std::string& line) {
  switch (console.handleLine(line)) {
    case ConsoleEffect::ApiConfigChanged:
      client.configure(config);
      ota.setServer(config.apiBaseUrl, config.deviceId, config.deviceToken);
      break;
    case ConsoleEffect::WifiConfigChanged:
      wifi.begin(config);
      break;
    case ConsoleEffect::Reboot:
      Serial.flush();
      ESP.restart();
      break;
    case ConsoleEffect::None:
      break;
  }
}

void setup() {
  Serial.setRxBufferSize(board::kSerialRxBufferBytes);  // must come before begin()
  Serial.begin(board::kSerialBaud);
  store.load(config);
  logger.setLevel(config.debugLevel);
  const uint32_t watchdogMs = thingsnxt::watchdogTimeoutMs(board::clientSettings());
  if (!esp32.startWatchdog(watchdogMs)) logger.error("task watchdog could not be started");
  if (!flash.begin()) logger.error("NVS namespace iot-ring could not be opened: the offline buffer is RAM only");
  for (const board::PinConfig& pin : board::kPinMap) pins.bind(pin.key, pin.gpio, pin.activeHigh);
  // SNTP runs in the background; readings get a wall-clock time once it answers.
  configTime(0, 0, board::kNtpServer, board::kNtpFallbackServer);
  wifi.begin(config);
  client.setOtaListener(&ota);
  client.begin(config);
  ota.setServer(config.apiBaseUrl, config.deviceId, config.deviceToken);
  ota.begin(board::kFirmwareVersion, otaSlot.pendingVerify(), esp32.monotonicMs());
  logger.info("ThingsNXT firmware %s ready (watchdog %u s); type `help`", board::kFirmwareVersion,
              static_cast<unsigned>(watchdogMs / 1000));
}

void loop() {
  while (Serial.available() > 0) {
    if (serialInput.feed(static_cast<char>(Serial.read()))) handleConsoleLine(serialInput.line());
  }
  client.setNetworkUp(wifi.maintain(esp32.monotonicMs()));
  client.tick();
  // One chunk or one report per loop, between the client's requests, only while the server answers the client.
  if (client.online()) ota.tick(esp32.monotonicMs(), esp32.random32());
  if (ota.rebootRequested()) {
    Serial.flush();
    ESP.restart();
  }
  delay(5);  // lets the WiFi and idle tasks run; nothing here waits for anything
}
