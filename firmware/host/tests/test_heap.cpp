// The core's heap in steady state (issue 17, "proven beyond the x86 host"):
// this file replaces the global operator new/delete of the test program with
// counting ones, then drives a device through 100,000 loop iterations in
// which every failure path recurs (no answer, 5xx, 429, refused credentials
// with /health and re-provisioning, refused readings, a full offline buffer,
// flash writes). What the fakes and the host's JSON library allocate is not
// counted (the ESP32 uses ArduinoJson, with its own pattern): a block
// allocated while an Uncounted guard is alive is never counted, even when
// the core frees it.
#include <doctest/doctest.h>

#include <cstdio>
#include <cstdlib>
#include <new>

#include "fakes.h"

namespace {

struct HeapCounter {
  bool counting = false;
  size_t live = 0;
  size_t peak = 0;
  size_t allocations = 0;
};
HeapCounter heap;

// Before each block: its size and whether it was counted, padded so the
// block keeps malloc's alignment on 32- and 64-bit targets alike.
struct alignas(alignof(std::max_align_t)) BlockHeader {
  size_t size;
  bool counted;
};

void* allocate(size_t size) {
  BlockHeader* header = static_cast<BlockHeader*>(std::malloc(sizeof(BlockHeader) + size));
  if (header == nullptr) throw std::bad_alloc();
  header->size = size;
  header->counted = heap.counting;
  if (heap.counting) {
    heap.live += size;
    ++heap.allocations;
    if (heap.live > heap.peak) heap.peak = heap.live;
  }
  return header + 1;
}

void release(void* block) {
  if (block == nullptr) return;
  BlockHeader* header = static_cast<BlockHeader*>(block) - 1;
  if (header->counted) heap.live -= header->size;
  std::free(header);
}

class Uncounted {
 public:
  Uncounted() : saved_(heap.counting) { heap.counting = false; }
  ~Uncounted() { heap.counting = saved_; }

 private:
  bool saved_;
};

}  // namespace

void* operator new(size_t size) { return allocate(size); }
void* operator new[](size_t size) { return allocate(size); }
void operator delete(void* block) noexcept { release(block); }
void operator delete[](void* block) noexcept { release(block); }
void operator delete(void* block, size_t) noexcept { release(block); }
void operator delete[](void* block, size_t) noexcept { release(block); }

namespace {

using namespace fakes;

class UncountedReader : public JsonReader {
 public:
  bool parse(const std::string& body) override {
    Uncounted guard;
    return inner_.parse(body);
  }
  JsonValue member(const char* key) const override {
    Uncounted guard;
    return inner_.member(key);
  }
  JsonValue member(const char* parent, const char* key) const override {
    Uncounted guard;
    return inner_.member(parent, key);
  }
  std::vector<JsonPair> pairs(const char* key) const override {
    Uncounted guard;
    return inner_.pairs(key);
  }

 private:
  NlohmannJsonReader inner_;
};

class UncountedWriter : public JsonWriter {
 public:
  void begin() override { Uncounted guard; inner_.begin(); }
  void openObject(const char* key) override { Uncounted guard; inner_.openObject(key); }
  void openArray(const char* key) override { Uncounted guard; inner_.openArray(key); }
  void close() override { Uncounted guard; inner_.close(); }
  void add(const char* key, const char* value) override { Uncounted guard; inner_.add(key, value); }
  void add(const char* key, int32_t value) override { Uncounted guard; inner_.add(key, value); }
  void add(const char* key, uint64_t value) override { Uncounted guard; inner_.add(key, value); }
  void add(const char* key, double value) override { Uncounted guard; inner_.add(key, value); }
  void add(const char* key, bool value) override { Uncounted guard; inner_.add(key, value); }
  std::string finish() override {
    Uncounted guard;
    return inner_.finish();
  }

 private:
  NlohmannJsonWriter inner_;
};

// A server that keeps no history (so the test itself does not grow) and
// moves through phases of 40 requests: all well, no answer, 503, 429,
// refused credentials (health stays up, provisioning answers), refused
// readings. Its answers are built once.
class CyclingServer : public HttpTransport {
 public:
  CyclingServer() {
    Uncounted guard;
    ok_ = answer(200, {{"message", "ok"}, {"data", {{"v0", 1}, {"v1", 0}}}});
    ok_.etag = "\"v1\"";
    batch_ = answer(200, {{"accepted", 25}, {"duplicates", 0}});
    health_ = answer(200, {{"status", "ok"}, {"database", "ok"}});
    provisioned_ = answer(201, {{"device_id", "fedcba9876543210fedcba98"}, {"device_token", provisionedConfig().deviceToken}});
    notModified_.status = 304;
    notModified_.etag = "\"v1\"";
    failures_[0] = noAnswer();
    failures_[1] = error(503, "unavailable");
    failures_[2] = error(429, "rate_limited");
    failures_[2].retryAfter = "1";
    failures_[3] = error(403, "invalid_token");
    failures_[4] = error(400, "invalid_request");
  }
  size_t requests = 0;

  void setRootCa(const std::string&) override {}
  void setPinnedKey(const std::string&) override {}
  HttpResponse send(const HttpRequest& request) override {
    Uncounted guard;
    const size_t phase = requests++ / 40 % 6;
    const Endpoint endpoint = endpointOf(request);
    if (endpoint == Endpoint::Health) return phase == 1 ? failures_[0] : health_;
    if (endpoint == Endpoint::Provision) return provisioned_;
    if (phase > 0) return failures_[phase - 1];
    if (endpoint == Endpoint::Batch) return batch_;
    if (endpoint == Endpoint::Latest && !request.ifNoneMatch.empty()) return notModified_;
    return ok_;
  }

 private:
  HttpResponse ok_, batch_, health_, provisioned_, notModified_, failures_[5];
};

class NullSink : public TextSink {
 public:
  void writeLine(const char*) override {}
};

class UncountedFlash : public RecordStore {
 public:
  size_t read(const char* key, uint8_t* buffer, size_t capacity) override {
    Uncounted guard;
    return flash_.read(key, buffer, capacity);
  }
  bool write(const char* key, const uint8_t* data, size_t size) override {
    Uncounted guard;
    return flash_.write(key, data, size);
  }

 private:
  FakeFlash flash_;
};

class UncountedStore : public ConfigStore {
 public:
  bool load(DeviceConfig& config) override {
    Uncounted guard;
    return inner_.load(config);
  }
  bool save(const DeviceConfig& config) override {
    Uncounted guard;
    return inner_.save(config);
  }

 private:
  MemoryStore inner_;
};

ClientSettings busySettings() {
  ClientSettings settings;
  settings.telemetryIntervalMs = 1000;
  settings.pollIntervalMs = 500;
  settings.healthIntervalMs = 5000;
  settings.longPollMaxSeconds = 0;
  settings.backoffBaseMs = 100;
  settings.backoffCapMs = 1000;
  settings.credentialRetryBaseMs = 1000;
  settings.credentialRetryCapMs = 4000;
  settings.refusalsBeforeReprovisioning = 2;
  settings.bufferCapacity = 20;
  settings.batchSize = 5;
  settings.sequenceBlock = 10;
  return settings;
}

}  // namespace

TEST_CASE("steady state: the core's heap peaks low and does not grow over 100,000 loop iterations") {
  FakeBoard board;
  board.nextRandom = 0x5eed;
  CyclingServer server;
  UncountedReader reader;
  UncountedWriter writer;
  NullSink sink;
  Log log(sink);
  log.setLevel(Log::kMaxLevel);  // every log line is formatted
  PinMap pins;
  pins.bind("v0", 2);
  pins.bind("v1", 4);
  FixedSensor sensor;
  UncountedFlash flash;
  UncountedStore store;
  DeviceConfig config = provisionedConfig();
  config.provisioningKey = "fleet-key-0123456789";
  config.provisioningSecret = "fleet-secret-0123456789";
  SavedConfig saved(config, store);

  heap = HeapCounter();
  heap.counting = true;
  const ClientSettings settings = busySettings();
  DeviceClient client(settings, board, server, reader, writer, pins, sensor, log, &flash);
  client.setCredentialSink(&saved);
  client.begin(config);
  const size_t constructed = heap.live;  // the offline buffer's slots, mostly

  auto iterate = [&](int count) {
    for (int i = 0; i < count; ++i) {
      client.tick();
      board.now += 100;
    }
  };
  iterate(20000);  // warm-up: every phase several times, buffers at their working size
  const size_t baseline = heap.live;
  heap.peak = baseline;
  const size_t allocationsBefore = heap.allocations;
  const size_t requestsBefore = server.requests;
  iterate(100000);
  heap.counting = false;

  const Stats& stats = client.stats();
  CHECK(heap.live == baseline);  // zero growth
  CHECK(server.requests - requestsBefore > 10000);
  CHECK(stats.retries > 100);
  CHECK(stats.rateLimited > 100);
  CHECK(stats.credentialRefusals > 100);
  CHECK(stats.readingsDropped > 100);
  CHECK(client.buffer().overflowDropped() > 0);
  std::printf("heap: %zu bytes after construction, %zu in steady state, peak %zu; %zu allocations in 100,000 "
              "iterations (%zu requests); growth %ld bytes\n",
              constructed, baseline, heap.peak, heap.allocations - allocationsBefore, server.requests - requestsBefore,
              static_cast<long>(heap.live) - static_cast<long>(baseline));
}
