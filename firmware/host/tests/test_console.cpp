#include <doctest/doctest.h>

#include "fakes.h"

using namespace fakes;

TEST_CASE("provisioning commands are parsed and validated") {
  Command id = parseCommand("set id 0123456789abcdef01234567");
  CHECK(id.type == CommandType::SetId);
  CHECK(id.value == "0123456789abcdef01234567");

  Command badId = parseCommand("set id 12345");
  CHECK(badId.type == CommandType::Invalid);
  CHECK(badId.error.find("24 lowercase hex") != std::string::npos);

  CHECK(parseCommand("set token abc-DEF_ghi-JKL_mno").type == CommandType::SetToken);
  CHECK(parseCommand("set token bad token").type == CommandType::Invalid);
  CHECK(parseCommand("set url https://iot.example.com").type == CommandType::SetUrl);
  Command publicHttp = parseCommand("set url http://iot.example.com");
  CHECK(publicHttp.type == CommandType::Invalid);
  CHECK(publicHttp.error.find("development") != std::string::npos);

  Command wifi = parseCommand("set wifi \"My Home Net\" \"pass word\"");
  CHECK(wifi.type == CommandType::SetWifi);
  CHECK(wifi.value == "My Home Net");
  CHECK(wifi.secret == "pass word");
  Command open = parseCommand("set wifi CafeGuest");
  CHECK(open.type == CommandType::SetWifi);
  CHECK(open.secret.empty());
  CHECK(parseCommand("set wifi \"unclosed").type == CommandType::Invalid);

  Command debug = parseCommand("debug 3");
  CHECK(debug.type == CommandType::Debug);
  CHECK(debug.level == 3);
  CHECK(parseCommand("debug 4").type == CommandType::Invalid);
  CHECK(parseCommand("  help  ").type == CommandType::Help);
  CHECK(parseCommand("show").type == CommandType::Show);
  CHECK(parseCommand("stats").type == CommandType::Stats);
  CHECK(parseCommand("reboot").type == CommandType::Reboot);
  CHECK(parseCommand("reboot now").type == CommandType::Invalid);
  CHECK(parseCommand("").type == CommandType::Empty);
  CHECK(parseCommand("set ca").type == CommandType::SetCa);
  CHECK(parseCommand("set ca default").type == CommandType::SetCaDefault);
  CHECK(parseCommand("set colour red").type == CommandType::Invalid);
}

TEST_CASE("serial characters become lines whatever the terminal sends") {
  LineAssembler lines;
  std::vector<std::string> got;
  for (char c : std::string("show\r\nstats\nhelx\bp\rdebug 2\n")) {
    if (lines.feed(c)) got.push_back(lines.line());
  }
  CHECK(got == std::vector<std::string>{"show", "stats", "help", "debug 2"});

  for (size_t i = 0; i < LineAssembler::kMaxLength + 50; ++i) lines.feed('x');
  CHECK(lines.feed('\n'));
  CHECK(lines.line().size() == LineAssembler::kMaxLength);
}

struct ConsoleRig : Rig {
  ConsoleRig() { start(DeviceConfig()); }
  DeviceConfig config;
  MemoryStore store;
  RecordingSink out;
  FakeCertificates certificates;
  Console console{config, store, *client, log, out, certificates};
};

TEST_CASE("set commands change and save the configuration and say what to reapply") {
  ConsoleRig rig;
  CHECK(rig.console.handleLine("set id 0123456789abcdef01234567") == ConsoleEffect::ApiConfigChanged);
  CHECK(rig.console.handleLine("set token abc-DEF_ghi-JKL_mno") == ConsoleEffect::ApiConfigChanged);
  CHECK(rig.console.handleLine("set url https://iot.example.com") == ConsoleEffect::ApiConfigChanged);
  CHECK(rig.console.handleLine("set wifi Home secret") == ConsoleEffect::WifiConfigChanged);
  CHECK(rig.store.saved.deviceId == "0123456789abcdef01234567");
  CHECK(rig.store.saved.deviceToken == "abc-DEF_ghi-JKL_mno");
  CHECK(rig.store.saved.apiBaseUrl == "https://iot.example.com");
  CHECK(rig.store.saved.wifiSsid == "Home");
  CHECK(rig.store.saved.wifiPassword == "secret");
  CHECK(rig.out.contains("ok: token saved"));
}

TEST_CASE("an invalid command changes nothing and says why") {
  ConsoleRig rig;
  CHECK(rig.console.handleLine("set id nothex") == ConsoleEffect::None);
  CHECK(rig.store.saves == 0);
  CHECK(rig.config.deviceId.empty());
  CHECK(rig.out.contains("error: a device id is 24 lowercase hex characters"));
}

TEST_CASE("show masks the token") {
  ConsoleRig rig;
  rig.console.handleLine("set token abcdEFGHijklMNOPqrstUVWXyz0123456789-_ABCDE");
  rig.console.handleLine("show");
  CHECK(rig.out.contains("token: abcd...BCDE (43 chars)"));
  for (const std::string& line : rig.out.lines) CHECK(line.find("EFGHijkl") == std::string::npos);
}

TEST_CASE("debug sets the log level at once") {
  ConsoleRig rig;
  rig.console.handleLine("debug 0");
  CHECK(rig.log.level() == 0);
  CHECK(rig.store.saved.debugLevel == 0);
  rig.log.info("an event");
  CHECK_FALSE(rig.sink.contains("an event"));
}

TEST_CASE("set ca takes a pasted PEM certificate up to its END line") {
  ConsoleRig rig;
  CHECK(rig.console.handleLine("set ca") == ConsoleEffect::None);
  CHECK(rig.console.collectingCertificate());
  rig.console.handleLine("-----BEGIN CERTIFICATE-----");
  rig.console.handleLine("MIIFazCCA1OgAwIBAgIRAIIQz7DSQONZRGPgu2OCiwAwDQYJKoZIhvcNAQELBQAw");
  CHECK(rig.store.saves == 0);
  CHECK(rig.console.handleLine("-----END CERTIFICATE-----\r") == ConsoleEffect::ApiConfigChanged);
  CHECK_FALSE(rig.console.collectingCertificate());
  CHECK(rig.store.saved.rootCaPem ==
        "-----BEGIN CERTIFICATE-----\nMIIFazCCA1OgAwIBAgIRAIIQz7DSQONZRGPgu2OCiwAwDQYJKoZIhvcNAQELBQAw\n"
        "-----END CERTIFICATE-----\n");
  CHECK(rig.console.handleLine("set ca default") == ConsoleEffect::ApiConfigChanged);
  CHECK(rig.store.saved.rootCaPem.empty());
}

TEST_CASE("set ca gives up on something that is not a certificate") {
  ConsoleRig rig;
  rig.console.handleLine("set ca");
  rig.console.handleLine("show");
  CHECK_FALSE(rig.console.collectingCertificate());
  CHECK(rig.out.contains("error: a PEM certificate starts with"));
  CHECK(rig.store.saves == 0);
}

TEST_CASE("stats reports the counters, the buffer and the board's figures") {
  ConsoleRig rig;
  rig.console.handleLine("stats");
  CHECK(rig.out.contains("state: not provisioned"));
  CHECK(rig.out.contains("readings sent: 0, dropped by server: 0"));
  CHECK(rig.out.contains("offline buffer: 0/120"));
  CHECK(rig.out.contains("free heap: 123456 bytes"));
}
