// The ThingsNXT device, built for Linux from the same core as the ESP32
// sketch: libcurl instead of HTTPClient, nlohmann::json instead of
// ArduinoJson, stdin/stdout instead of Serial, GPIO writes printed. Used by
// the firmware-in-the-loop tests and for trying a server without hardware.
// With --mqtt-url the device talks MQTT (libmosquitto) to the platform's
// broker instead; --url still names the HTTP server an OTA image comes from.
//
//   thingsnxt-host-device --url http://127.0.0.1:5000 --id <id> --token <token>
//                         [--telemetry-ms 10000] [--poll-ms 5000] [--health-ms 60000]
//                         [--long-poll-s 25] [--timeout-ms 10000]
//                         [--backoff-base-ms 1000] [--backoff-cap-ms 60000]
//                         [--buffer 120] [--batch 25] [--ca-file PEM] [--debug 1] [--seed N]
//                         [--state FILE] [--health-report-ms 60000] [--seq-block 100]
//                         [--credential-retry-base-ms 60000] [--credential-retry-cap-ms 3600000]
//                         [--provisioning-key KEY --provisioning-secret SECRET] [--hardware-id 12HEX]
//                         [--fw-version host] [--ota-slot FILE] [--ota-capacity 1310720] [--ota-chunk 16384]
//                         [--ota-pending 0|1] [--mqtt-url mqtt://127.0.0.1:1883] [--mqtt-keepalive-s 30]
//                         [--mqtt-receipt-timeout-ms 30000]
//
// --ota-slot names the file an OTA update is written to (FileFirmwareSlot.h,
// the host's OTA partition). When an update is applied the program exits as
// the ESP32 would restart; started again with the new --fw-version and
// --ota-pending 1 (the bootloader waits for a verdict) on the same --state, it
// confirms the image once the server has heard it booted.
//
// --state names the file that stands in for the ESP32's flash: the seq
// counter and the offline buffer survive a restart of the program in it.
//
// Provisioning commands (`help`) are read from stdin, as the sketch reads them
// from Serial; the command-line credentials go through the same commands.

#include <poll.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "CurlHttp.h"
#include "FileFirmwareSlot.h"
#include "FileRecordStore.h"
#include "MosquittoMqtt.h"
#include "NlohmannJson.h"
#include "OpenSslCertificates.h"
#include "OpenSslSha256.h"
#include "ThingsNXT.h"

namespace {

using namespace thingsnxt;

volatile std::sig_atomic_t stopRequested = 0;

class StdoutSink : public TextSink {
 public:
  void writeLine(const char* line) override {
    std::fputs(line, stdout);
    std::fputc('\n', stdout);
    std::fflush(stdout);  // the tests read the log line by line
  }
};

class HostBoard : public Board {
 public:
  HostBoard(uint32_t seed, std::string hardwareId, ResetReason resetReason)
      : random_(seed), start_(std::chrono::steady_clock::now()), hardwareId_(std::move(hardwareId)), resetReason_(resetReason) {}

  uint64_t monotonicMs() override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start_).count();
  }
  uint64_t epochMs() override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
  uint32_t random32() override { return random_(); }
  // Heap figures are not meaningful on a PC; the unit tests count the
  // core's allocations instead (firmware/host/tests/test_heap.cpp).
  uint32_t freeHeapBytes() override { return 0; }
  uint32_t minFreeHeapBytes() override { return 0; }
  uint32_t largestFreeBlockBytes() override { return 0; }
  bool wifiRssi(int32_t&) override { return false; }  // wired, as far as the device knows
  ResetReason resetReason() override { return resetReason_; }
  std::string hardwareId() override { return hardwareId_; }
  void feedWatchdog() override {}  // a stuck host device is seen by the tests' timeouts
  void setPinOutput(int) override {}
  // The host's "LEDs": the level each output is driven to.
  void writePin(int gpio, bool high) override {
    std::printf("gpio %d -> %s\n", gpio, high ? "HIGH" : "LOW");
    std::fflush(stdout);
  }

 private:
  std::mt19937 random_;
  std::chrono::steady_clock::time_point start_;
  std::string hardwareId_;
  ResetReason resetReason_;
};

// The host keeps its "Preferences" for the life of the process.
class MemoryConfigStore : public ConfigStore {
 public:
  bool load(DeviceConfig& config) override {
    config = saved_;
    return true;
  }
  bool save(const DeviceConfig& config) override {
    saved_ = config;
    return true;
  }

 private:
  DeviceConfig saved_;
};

// A count of this run's readings (`n`) lets a test tell them apart in the
// server's state; the temperature is a plausible sensor value.
class CountingSensor : public SensorSource {
 public:
  void read(Reading& reading) override {
    ++count_;
    reading.add("n", count_);
    reading.add("temperature", 20.0 + (count_ % 50) / 10.0);
  }

 private:
  int32_t count_ = 0;
};

struct Options {
  ClientSettings settings;
  std::vector<std::string> provisioning;  // console commands
  uint32_t seed = std::random_device()();
  std::string statePath;
  std::string hardwareId;
  std::string provisioningKey;
  std::string provisioningSecret;
  std::string firmwareVersion = "host";
  OtaSettings ota;
  std::string otaSlotPath;
  uint32_t otaCapacity = 1310720;  // the default partition table's app slot
  bool otaPending = false;
  std::string mqttUrl;  // "": HTTP
};

[[noreturn]] void usage(const char* problem) {
  std::fprintf(stderr, "thingsnxt-host-device: %s (see the comment at the top of host_device.cpp)\n", problem);
  std::exit(2);
}

uint32_t number(const std::string& text) {
  char* end = nullptr;
  const unsigned long value = std::strtoul(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0') usage(("not a number: " + text).c_str());
  return static_cast<uint32_t>(value);
}

// `set ca` followed by the PEM, as it would be pasted on the console.
void addCertificateCommands(const std::string& path, std::vector<std::string>& commands) {
  std::ifstream file(path);
  if (!file) usage(("cannot read " + path).c_str());
  commands.push_back("set ca");
  for (std::string line; std::getline(file, line);) commands.push_back(line);
}

Options parseOptions(int argc, char** argv) {
  Options options;
  ClientSettings& s = options.settings;
  for (int i = 1; i < argc; i += 2) {
    const std::string flag = argv[i];
    if (i + 1 >= argc) usage(("missing value for " + flag).c_str());
    const std::string value = argv[i + 1];
    if (flag == "--url") options.provisioning.push_back("set url " + value);
    else if (flag == "--id") options.provisioning.push_back("set id " + value);
    else if (flag == "--token") options.provisioning.push_back("set token " + value);
    else if (flag == "--debug") options.provisioning.push_back("debug " + value);
    else if (flag == "--ca-file") addCertificateCommands(value, options.provisioning);
    else if (flag == "--telemetry-ms") s.telemetryIntervalMs = number(value);
    else if (flag == "--poll-ms") s.pollIntervalMs = number(value);
    else if (flag == "--health-ms") s.healthIntervalMs = number(value);
    else if (flag == "--long-poll-s") s.longPollMaxSeconds = number(value);
    else if (flag == "--timeout-ms") s.requestTimeoutMs = number(value);
    else if (flag == "--backoff-base-ms") s.backoffBaseMs = number(value);
    else if (flag == "--backoff-cap-ms") s.backoffCapMs = number(value);
    else if (flag == "--buffer") s.bufferCapacity = number(value);
    else if (flag == "--batch") s.batchSize = number(value);
    else if (flag == "--seed") options.seed = number(value);
    else if (flag == "--state") options.statePath = value;
    else if (flag == "--hardware-id") options.hardwareId = value;
    else if (flag == "--provisioning-key") options.provisioningKey = value;
    else if (flag == "--provisioning-secret") options.provisioningSecret = value;
    else if (flag == "--health-report-ms") s.healthReportIntervalMs = number(value);
    else if (flag == "--seq-block") s.sequenceBlock = number(value);
    else if (flag == "--credential-retry-base-ms") s.credentialRetryBaseMs = number(value);
    else if (flag == "--credential-retry-cap-ms") s.credentialRetryCapMs = number(value);
    else if (flag == "--fw-version") options.firmwareVersion = value;
    else if (flag == "--ota-slot") options.otaSlotPath = value;
    else if (flag == "--ota-capacity") options.otaCapacity = number(value);
    else if (flag == "--ota-chunk") options.ota.chunkBytes = number(value);
    else if (flag == "--ota-pending") options.otaPending = number(value) != 0;
    else if (flag == "--mqtt-url") options.mqttUrl = value;
    else if (flag == "--mqtt-keepalive-s") s.mqttKeepAliveS = static_cast<uint16_t>(number(value));
    else if (flag == "--mqtt-receipt-timeout-ms") s.mqttReceiptTimeoutMs = number(value);
    else usage(("unknown option " + flag).c_str());
  }
  if (!options.provisioningKey.empty()) {
    options.provisioning.push_back("set provisioning " + options.provisioningKey + " " + options.provisioningSecret);
  }
  if (options.hardwareId.empty()) {
    char id[13];  // a locally administered MAC, as a stand-in for the WiFi MAC
    std::snprintf(id, sizeof id, "02%010x", static_cast<unsigned>(options.seed));
    options.hardwareId = id;
  }
  return options;
}

void requestStop(int) { stopRequested = 1; }

}  // namespace

int main(int argc, char** argv) {
  Options options = parseOptions(argc, argv);
  options.settings.firmwareVersion = options.firmwareVersion.c_str();
  std::signal(SIGTERM, requestStop);
  std::signal(SIGINT, requestStop);
  curl_global_init(CURL_GLOBAL_DEFAULT);

  StdoutSink out;
  Log log(out);
  std::unique_ptr<FileRecordStore> flash;
  ResetReason resetReason = ResetReason::PowerOn;
  if (!options.statePath.empty()) {
    resetReason = std::ifstream(options.statePath) ? ResetReason::Software : ResetReason::PowerOn;
    flash.reset(new FileRecordStore(options.statePath));
  }
  HostBoard board(options.seed, options.hardwareId, resetReason);
  CurlHttpTransport http;
  NlohmannJsonReader reader;
  NlohmannJsonWriter writer;
  PinMap pins;
  pins.bind("v0", 2);
  pins.bind("v1", 4);
  CountingSensor sensor;
  MosquittoMqttTransport mqtt;
  DeviceClient httpClient(options.settings, board, http, reader, writer, pins, sensor, log, flash.get());
  MqttDeviceClient mqttClient(options.settings, options.mqttUrl, board, mqtt, reader, writer, pins, sensor, log, flash.get());
  DeviceCore& client = options.mqttUrl.empty() ? static_cast<DeviceCore&>(httpClient) : mqttClient;
  MemoryConfigStore store;
  DeviceConfig config;
  OpenSslCertificateParser certificates;
  Console console(config, store, client, log, out, certificates);
  SavedConfig saved(config, store);
  httpClient.setCredentialSink(&saved);
  for (const std::string& command : options.provisioning) console.handleLine(command);
  FileFirmwareSlot slot(options.otaSlotPath.empty() ? "/dev/null" : options.otaSlotPath, options.otaCapacity);
  OpenSslSha256 hash;
  OtaUpdater ota(options.ota, http, writer, hash, slot, log, flash.get());
  if (!options.otaSlotPath.empty()) client.setOtaListener(&ota);
  client.begin(config);
  ota.setServer(config.apiBaseUrl, config.deviceId, config.deviceToken);
  ota.begin(options.firmwareVersion, options.otaPending, board.monotonicMs());
  log.info("host device started");

  LineAssembler input;
  bool stdinOpen = true;
  bool rebootRequested = false;
  while (!stopRequested && !rebootRequested) {
    client.tick();
    if (client.online()) ota.tick(board.monotonicMs(), board.random32());
    if (ota.rebootRequested()) {
      log.info("ota: restarting into the new image");
      break;
    }
    pollfd pending = {STDIN_FILENO, POLLIN, 0};
    // The poll timeout is the loop's pause, like a short delay() in loop().
    if (!stdinOpen || poll(&pending, 1, 10) <= 0) {
      if (!stdinOpen) usleep(10 * 1000);
      continue;
    }
    char chunk[256];
    const ssize_t length = read(STDIN_FILENO, chunk, sizeof chunk);
    stdinOpen = length > 0;
    for (ssize_t i = 0; i < length; ++i) {
      if (!input.feed(chunk[i])) continue;
      switch (console.handleLine(input.line())) {
        case ConsoleEffect::ApiConfigChanged:
          client.configure(config);
          ota.setServer(config.apiBaseUrl, config.deviceId, config.deviceToken);
          break;
        case ConsoleEffect::WifiConfigChanged: log.info("wifi: the host uses its own network; saved only"); break;
        case ConsoleEffect::Reboot: rebootRequested = true; break;
        case ConsoleEffect::None: break;
      }
    }
  }
  client.reportStats(out);
  log.info("host device stopped");
  curl_global_cleanup();
  return 0;
}
