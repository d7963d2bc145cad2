// The OTA state machine (OtaUpdate.h) against a fake firmware server: offer,
// download in Range chunks, resume after drops, verify, apply, report, and
// confirm or roll back after the reboot.
#include <doctest/doctest.h>

#include <random>

#include "OpenSslSha256.h"
#include "fakes.h"

using namespace fakes;

namespace {

const std::string kDevice = "0123456789abcdef01234567";

std::string sha256Of(const std::string& bytes) {
  OpenSslSha256 hash;
  hash.begin();
  hash.update(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  return hash.hexDigest();
}

std::string imageOf(size_t size) {
  std::mt19937 random(7);
  std::string image(size, '\0');
  image[0] = static_cast<char>(0xE9);
  for (size_t i = 1; i < size; ++i) image[i] = static_cast<char>(random() & 0xff);
  return image;
}

// Serves one image under /devices/{id}/firmware/{sha256} in Range chunks, takes status reports,
// and can be told to fail the next chunk requests in the ways links and servers do.
class FirmwareServer : public HttpTransport {
 public:
  std::string image;
  std::string sha256;
  std::vector<json> reports;
  std::vector<std::string> ranges;
  size_t bytesServed = 0;
  // Each chunk request takes the next of these before being answered normally.
  std::deque<HttpResponse> failures;
  bool truncateNext = false;  // the next chunk arrives cut short (the connection ended early)

  explicit FirmwareServer(const std::string& bytes) : image(bytes), sha256(sha256Of(bytes)) {}

  OtaOffer offer(const std::string& version = "1.1.0") const {
    OtaOffer offer;
    offer.version = version;
    offer.sha256 = sha256;
    offer.path = "/devices/" + kDevice + "/firmware/" + sha256;
    offer.size = static_cast<uint32_t>(image.size());
    return offer;
  }

  std::vector<std::string> states() const {
    std::vector<std::string> seen;
    for (const json& report : reports) seen.push_back(report["state"]);
    return seen;
  }

  void setRootCa(const std::string&) override {}
  void setPinnedKey(const std::string&) override {}

  HttpResponse send(const HttpRequest& request) override {
    HttpResponse response;
    if (request.method == HttpMethod::Post) {
      reports.push_back(json::parse(request.body));
      response.status = reachableForReports ? 200 : kNetworkError;
      if (!reachableForReports) reports.pop_back();
      return response;
    }
    ranges.push_back(request.range);
    if (!failures.empty()) {
      response = failures.front();
      failures.pop_front();
      return response;
    }
    unsigned long first = 0, last = 0;
    REQUIRE(sscanf(request.range.c_str(), "bytes=%lu-%lu", &first, &last) == 2);
    REQUIRE(first < image.size());
    last = std::min<unsigned long>(last, image.size() - 1);
    response.status = 206;
    response.body = image.substr(first, last - first + 1);
    if (truncateNext) {
      truncateNext = false;
      response.body.resize(response.body.size() / 3);
    }
    bytesServed += response.body.size();
    return response;
  }

  bool reachableForReports = true;
};

class MemorySlot : public FirmwareSlot {
 public:
  uint32_t room = 1310720;  // the default partition table's app slot
  std::string written;
  std::string bootable;
  bool begun = false, aborted = false, valid = false, rolledBack = false;

  uint32_t capacity() override { return room; }
  bool begin(uint32_t) override {
    written.clear();
    begun = true;
    return true;
  }
  bool write(const uint8_t* data, size_t size) override {
    written.append(reinterpret_cast<const char*>(data), size);
    return true;
  }
  bool finish() override {
    bootable = written;
    return true;
  }
  void abort() override { aborted = true; }
  std::string lastError() override { return "none"; }
  void markValid() override { valid = true; }
  void rollBack() override { rolledBack = true; }
};

struct OtaRig {
  explicit OtaRig(const std::string& image, OtaSettings settings = OtaSettings()) : server(image) {
    settings.chunkBytes = 4096;
    settings.progressEveryBytes = 16384;
    updater.reset(new OtaUpdater(settings, server, writer, hash, slot, log, &flash));
    updater->setServer("http://192.168.1.20:5000", kDevice, "tok");
  }

  // Ticks (10 ms apart) until the updater is idle and has nothing to report, or `limitMs` passed; how many requests it sent.
  int run(uint64_t limitMs = 600000) {
    int requests = 0;
    const uint64_t end = now + limitMs;
    while (now < end) {
      if (updater->tick(now, 0x80000000u)) ++requests;
      now += 10;
      if (updater->rebootRequested()) break;
      if (updater->state() == OtaUpdater::State::Idle && !updater->tick(now, 0)) break;
    }
    return requests;
  }

  FirmwareServer server;
  NlohmannJsonWriter writer;
  OpenSslSha256 hash;
  MemorySlot slot;
  FakeFlash flash;
  RecordingSink sink;
  Log log{sink};
  uint64_t now = 1000;
  std::unique_ptr<OtaUpdater> updater;
};

}  // namespace

TEST_CASE("an offered image is downloaded in chunks, verified, applied and reported at every step") {
  OtaRig rig(imageOf(50000));
  rig.updater->begin("1.0.0", false, rig.now);
  rig.updater->offered(rig.server.offer());

  rig.run();

  CHECK(rig.updater->rebootRequested());
  CHECK(rig.slot.bootable == rig.server.image);
  CHECK(rig.server.bytesServed == rig.server.image.size());
  CHECK(rig.server.ranges.front() == "bytes=0-4095");
  CHECK(rig.server.ranges.back() == "bytes=49152-49999");  // the short last chunk asks for exactly what is left
  const std::vector<std::string> states = rig.server.states();
  CHECK(states.front() == "downloading");
  CHECK(std::count(states.begin(), states.end(), "downloading") >= 3);  // progress every 16 KiB
  CHECK(states[states.size() - 2] == "verifying");
  CHECK(states.back() == "applied");
}

TEST_CASE("a dropped chunk is fetched again from its first byte: only that chunk is sent twice") {
  OtaRig rig(imageOf(40000));
  rig.updater->begin("1.0.0", false, rig.now);
  rig.updater->offered(rig.server.offer());
  HttpResponse dropped;
  dropped.networkError = "Connection reset by peer";
  rig.server.failures = {dropped, dropped};

  rig.run();

  CHECK(rig.slot.bootable == rig.server.image);
  CHECK(rig.server.ranges[0] == "bytes=0-4095");
  CHECK(rig.server.ranges[1] == "bytes=0-4095");
  CHECK(rig.server.ranges[2] == "bytes=0-4095");
  CHECK(rig.server.bytesServed == rig.server.image.size());
}

TEST_CASE("a chunk cut short is kept and the next range starts at the first missing byte") {
  OtaRig rig(imageOf(20000));
  rig.updater->begin("1.0.0", false, rig.now);
  rig.updater->offered(rig.server.offer());
  rig.server.truncateNext = true;

  rig.run();

  CHECK(rig.slot.bootable == rig.server.image);
  CHECK(rig.server.ranges[1] == "bytes=1365-5460");
  CHECK(rig.server.bytesServed == rig.server.image.size());
}

TEST_CASE("a bad hash is never applied and is reported failed") {
  OtaRig rig(imageOf(12000));
  rig.updater->begin("1.0.0", false, rig.now);
  OtaOffer offer = rig.server.offer();
  offer.sha256 = std::string(64, 'a');
  rig.updater->offered(offer);

  rig.run();

  CHECK_FALSE(rig.updater->rebootRequested());
  CHECK(rig.slot.bootable.empty());
  CHECK(rig.slot.aborted);
  CHECK(rig.server.reports.back()["state"] == "failed");
  CHECK(rig.server.reports.back()["reason"].get<std::string>().find("SHA-256 mismatch") == 0);
  // The same offer again (the answer came before the report): not downloaded twice.
  const size_t served = rig.server.bytesServed;
  rig.updater->offered(offer);
  rig.run();
  CHECK(rig.server.bytesServed == served);
}

TEST_CASE("an image larger than the OTA partition is refused before a byte is downloaded") {
  OtaRig rig(imageOf(30000));
  rig.slot.room = 20000;
  rig.updater->begin("1.0.0", false, rig.now);
  rig.updater->offered(rig.server.offer());

  rig.run();

  CHECK(rig.server.ranges.empty());
  CHECK_FALSE(rig.slot.begun);
  REQUIRE(rig.server.reports.size() == 1);
  CHECK(rig.server.reports[0]["state"] == "failed");
  CHECK(rig.server.reports[0]["reason"] == "the image (30000 bytes) is larger than the OTA partition (20000 bytes)");
}

TEST_CASE("429 mid-download waits Retry-After; 404 means the update was withdrawn") {
  OtaRig rig(imageOf(20000));
  rig.updater->begin("1.0.0", false, rig.now);
  rig.updater->offered(rig.server.offer());
  HttpResponse limited;
  limited.status = 429;
  limited.retryAfter = "7";
  rig.server.failures = {limited};
  rig.updater->tick(rig.now, 0);  // the downloading report
  rig.updater->tick(rig.now, 0);  // the 429
  CHECK_FALSE(rig.updater->tick(rig.now + 6990, 0));
  CHECK(rig.updater->tick(rig.now + 7000, 0));
  CHECK(rig.updater->received() == 4096);

  HttpResponse gone;
  gone.status = 404;
  rig.server.failures = {gone};
  rig.updater->tick(rig.now + 7010, 0);

  CHECK(rig.updater->state() == OtaUpdater::State::Idle);
  CHECK(rig.slot.aborted);
  CHECK(rig.server.states().back() == "downloading");  // nothing to report to a server that withdrew it
}

TEST_CASE("a download that keeps failing gives up with the reason") {
  OtaSettings settings;
  settings.maxFailures = 3;
  OtaRig rig(imageOf(20000), settings);
  rig.updater->begin("1.0.0", false, rig.now);
  rig.updater->offered(rig.server.offer());
  HttpResponse broken;
  broken.status = 503;
  rig.server.failures = {broken, broken, broken, broken};

  rig.run();

  CHECK(rig.server.reports.back()["state"] == "failed");
  CHECK(rig.server.reports.back()["reason"].get<std::string>().find("failed 3 times in a row at byte 0") != std::string::npos);
  CHECK(rig.slot.aborted);
}

TEST_CASE("after the reboot the new image is kept only once the server has heard it booted") {
  OtaRig rig(imageOf(8000));
  rig.updater->begin("1.0.0", false, rig.now);
  rig.updater->offered(rig.server.offer());
  rig.run();
  REQUIRE(rig.updater->rebootRequested());

  // The reboot: a new updater on the same flash, running the new version, the bootloader waiting for a verdict.
  OtaRig booted(rig.server.image);
  booted.flash = rig.flash;
  booted.server.reachableForReports = false;
  booted.updater->begin("1.1.0", true, booted.now);
  booted.run(30000);
  CHECK_FALSE(booted.slot.valid);
  CHECK(booted.updater->state() == OtaUpdater::State::Confirming);

  booted.server.reachableForReports = true;
  booted.run();

  CHECK(booted.slot.valid);
  CHECK_FALSE(booted.slot.rolledBack);
  REQUIRE(booted.server.reports.size() == 1);
  CHECK(booted.server.reports[0] == json({{"state", "booted"}, {"version", "1.1.0"}}));
}

TEST_CASE("a new image that cannot reach the server in time is rolled back, and the old one says so") {
  OtaSettings settings;
  settings.confirmWithinMs = 60000;
  OtaRig booted(imageOf(8000), settings);
  const uint8_t memo[] = {5, '1', '.', '1', '.', '0'};
  uint8_t record[16];
  ByteWriter writer(record, sizeof record);
  writer.bytes(memo, sizeof memo);
  const size_t size = writer.sealed();
  booted.flash.write("ota", record, size);
  booted.server.reachableForReports = false;
  booted.updater->begin("1.1.0", true, booted.now);

  booted.run(120000);

  CHECK(booted.slot.rolledBack);
  CHECK_FALSE(booted.slot.valid);

  // The old image boots (no verdict pending) and finds the memo: it reports its own version, which the server reads as a rollback.
  OtaRig old(imageOf(8000));
  old.flash = booted.flash;
  old.updater->begin("1.0.0", false, old.now);
  old.run();
  REQUIRE(old.server.reports.size() == 1);
  CHECK(old.server.reports[0] == json({{"state", "booted"}, {"version", "1.0.0"}}));
  CHECK_FALSE(old.slot.valid);
}

TEST_CASE("the offer is read from an answer, and malformed ones are ignored") {
  NlohmannJsonReader reader;
  OtaOffer offer;
  const std::string sha(64, 'b');
  REQUIRE(reader.parse(R"({"data":{},"ota":{"title":"t","version":"1.2","size":1000,"sha256":")" + sha + R"(","url":"/devices/x/firmware/)" + sha + R"("}})"));
  CHECK(readOtaOffer(reader, offer));
  CHECK((offer.version == "1.2" && offer.size == 1000 && offer.sha256 == sha));
  REQUIRE(reader.parse(R"({"data":{}})"));
  CHECK_FALSE(readOtaOffer(reader, offer));
  REQUIRE(reader.parse(R"({"ota":{"version":"1.2","size":1000,"sha256":"XYZ","url":"/a"}})"));
  CHECK_FALSE(readOtaOffer(reader, offer));
  REQUIRE(reader.parse(R"({"ota":{"version":"1.2","size":-5,"sha256":")" + sha + R"(","url":"/a"}})"));
  CHECK_FALSE(readOtaOffer(reader, offer));
}

TEST_CASE("DeviceClient hands the offer in a telemetry answer to its OTA listener") {
  struct Listener : OtaListener {
    std::vector<OtaOffer> offers;
    void offered(const OtaOffer& offer) override { offers.push_back(offer); }
  } listener;
  Rig rig;
  rig.client->setOtaListener(&listener);
  HttpResponse answer;
  answer.status = 200;
  answer.body = json({{"message", "ok"}, {"data", rig.server.state}, {"ota", {{"version", "2.0"}, {"size", 5000}, {"sha256", std::string(64, 'c')}, {"url", "/devices/x/firmware/c"}}}}).dump();
  rig.server.answerNext(Endpoint::Telemetry, answer);
  rig.start();

  rig.runFor(100);

  REQUIRE_FALSE(listener.offers.empty());
  CHECK(listener.offers[0].version == "2.0");
}
