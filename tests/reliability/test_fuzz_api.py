"""Fuzzing every operation /openapi.json documents, against a real gunicorn + gevent server.

Schemathesis generates requests from the document (valid ones and, in its
negative mode, invalid ones) and checks every answer: never a 5xx, and the
status, content type, headers and body are what the document promises.

Generated tokens would stop nearly every case at authentication, so most
generated cases are given real credentials: the device token (in the body, the query
or `Authorization: Bearer`), the device's id (and a command waiting for it
where the route names one) for device operations, a
personal API token and a device of that user for owner operations; a firmware
update sent to the device afresh where the route downloads an image (its
SHA-256) or reports on an update. Owner
operations get a fresh device each case, since they may delete it, rotate
its token or disable it.

The cases sent in all are a budget (tests/reliability/profiles.py: about
1,500 in the suite, 12,000 in `make fuzz`) shared out evenly between the
operations and the two generation modes.

The stateful run follows the document's links (http/openapi.py): a sequence
creates a device, a webhook, an alert rule, a command or a provisioning key and
goes on to read, change and delete it by the id it was given, so the routes that
take such ids see real ones, besides the generated ones (any integer, past 2^63 too).
"""
import collections
import io
import time

import pytest
import schemathesis
from hypothesis import Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Flaky, FlakyStrategyDefinition, Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.reliability.profiles import FUZZ_CASES, STATEFUL_SCENARIOS, STATEFUL_STEPS
from webapp.extensions import db
from webapp.services.accounts import users
from webapp.services.devices import commands
from webapp.services.ota import images, updates

# An ESP32 app image's magic byte, then enough bytes to be one.
FIRMWARE_IMAGE = b"\xe9" + bytes(4095)

pytestmark = pytest.mark.live

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance, response_schema_conformance]
REQUEST_TIMEOUT = 15
# Loopback port 9 (discard): deliveries to it are refused at once.
RECEIVER = "http://127.0.0.1:9/hook"
MIN_EXAMPLES = 10
STREAMING_TYPES = ("text/event-stream",)


def streams(operation):
    """Operations that answer with a stream never finish a request: they are tested elsewhere."""
    responses = operation.definition.raw.get("responses", {})
    return any(media in STREAMING_TYPES for response in responses.values() for media in response.get("content", {}))


def security_schemes(operation):
    return {scheme for requirement in operation.definition.raw.get("security", []) for scheme in requirement}


class Credentials:
    """Real identities handed to generated cases: a device, an owner with an API token, an admin."""

    def __init__(self, server):
        self.server = server
        device = server.create_device(name="fuzzed device")
        self.device_id, self.device_token, self.device_owner_email = device["device_id"], device["device_token"], device["owner_email"]
        self.owner_email = server.create_user()
        self.api_token = server.api_token(self.owner_email)
        self.admin_token = server.api_token(server.create_user(admin=True))

    def fresh_owned_device(self):
        return self.server.create_device(owner_email=self.owner_email, name="fuzzed owned device")["device_id"]

    def fresh_command(self):
        """A command waiting for the device: a reply to it can be accepted (once)."""
        with self.server.app.app_context():
            command_id = commands.send_command(self.device_id, "fuzzed", {}, 600).id
            db.session.remove()
        return command_id

    def fresh_update(self):
        """An update sent to the device anew (cancelling the last): its image may be downloaded, reports are taken; its SHA-256."""
        with self.server.app.app_context():
            image = images.store_image(users.find_user(self.device_owner_email), io.BytesIO(FIRMWARE_IMAGE), "fuzzed", "9.9.9")
            sha256 = image.sha256
            updates.assign(self.device_id, image)
            db.session.remove()
        return sha256


def with_device_credentials(case, credentials, where, realistic_times):
    if "device_id" in case.path_parameters:
        case.path_parameters["device_id"] = credentials.device_id
    if "command_id" in case.path_parameters:
        case.path_parameters["command_id"] = credentials.fresh_command()
    if "sha256" in case.path_parameters or case.operation.path.endswith("/ota/status"):
        sha256 = credentials.fresh_update()
        if "sha256" in case.path_parameters:
            case.path_parameters["sha256"] = sha256
    if where == "body" and isinstance(case.body, dict):
        case.body["device_token"] = credentials.device_token
    elif where == "query" and case.method.upper() == "GET":
        case.query["device_token"] = credentials.device_token
    else:
        # A token in the body or query wins over the header: drop generated ones so the header is used.
        case.query.pop("device_token", None)
        if isinstance(case.body, dict):
            case.body.pop("device_token", None)
        case.headers["Authorization"] = f"Bearer {credentials.device_token}"
    if realistic_times and isinstance(case.body, dict) and isinstance(case.body.get("records"), list):
        # Generated timestamps are nearly all out of range; real ones reach the batch's storage code.
        for age, record in enumerate(case.body["records"]):
            if isinstance(record, dict):
                record["ts"] = round(time.time()) - age
    return case


def with_user_credentials(case, credentials, admin):
    if "device_id" in case.path_parameters:
        case.path_parameters["device_id"] = credentials.fresh_owned_device()
    case.headers["Authorization"] = f"Bearer {credentials.admin_token if admin else credentials.api_token}"
    return case


def credential_strategy(case, credentials):
    """Most cases get real credentials; the rest keep what was generated, so refusals are fuzzed too."""
    schemes = security_schemes(case.operation)
    if "deviceToken" in schemes:
        authenticated = st.builds(
            lambda where, realistic_times: with_device_credentials(case, credentials, where, realistic_times),
            st.sampled_from(["body", "query", "header"]),
            st.booleans(),
        )
    elif "apiToken" in schemes:
        authenticated = st.builds(lambda admin: with_user_credentials(case, credentials, admin), st.sampled_from([False, False, True]))
    else:
        return st.just(case)
    return st.sampled_from([True, True, True, False]).flatmap(lambda real: authenticated if real else st.just(case))


@pytest.fixture(scope="module")
def fuzz_server(live_server_factory):
    # The test settings already lift every rate limit far above what the fuzzer sends. Webhooks may point at
    # loopback (RECEIVER), so generated webhooks get created and the routes taking their ids see real ones.
    return live_server_factory(WEBHOOK_ALLOW_PRIVATE=True)


def fuzzed_operations(server):
    schema = schemathesis.openapi.from_url(server.url + "/openapi.json")
    for result in schema.get_all_operations():
        operation = result.ok()
        if not streams(operation):
            yield operation


def fuzz(operation, mode, examples, credentials, statuses):
    """Run the operation's cases of one generation mode; the failure report, or None."""

    @settings(max_examples=examples)
    @given(case=operation.as_strategy(generation_mode=mode).flatmap(lambda case: credential_strategy(case, credentials)))
    def run(case):
        response = case.call_and_validate(checks=CHECKS, timeout=REQUEST_TIMEOUT)
        statuses[response.status_code] += 1

    try:
        run()
    except Unsatisfiable:
        assert mode is GenerationMode.NEGATIVE, f"{operation.label}: no valid request can be generated"
        return None  # nothing in this operation's requests can be made invalid (e.g. GET /health)
    except (Exception, BaseExceptionGroup) as failure:  # every operation is fuzzed, then all failures are reported together
        return f"{operation.label} ({mode.value}):\n{describe(failure)}"
    return None


def describe(failure):
    """The failure with what it groups (Hypothesis' "flaky" report hides the error it saw)."""
    text = f"{type(failure).__name__}: {failure}"
    for inner in getattr(failure, "exceptions", ()):
        text += "\n  " + describe(inner).replace("\n", "\n  ")
    return text


@pytest.mark.timeout(1800)
def test_every_answer_is_as_documented(fuzz_server, capsys):
    credentials = Credentials(fuzz_server)
    operations = list(fuzzed_operations(fuzz_server))
    modes = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    examples = max(MIN_EXAMPLES, FUZZ_CASES // (len(operations) * len(modes)))
    report, failures = {}, []
    for operation in operations:
        statuses = report.setdefault(operation.label, collections.Counter())
        for mode in modes:
            failures.append(fuzz(operation, mode, examples, credentials, statuses))
    write_report(capsys, report)

    assert not [failure for failure in failures if failure], "\n\n".join(failure for failure in failures if failure)
    for operation in operations:
        statuses, schemes = report[operation.label], security_schemes(operation)
        if "deviceToken" in schemes:
            assert any(200 <= status < 300 for status in statuses), f"no case of {operation.label} was accepted: {statuses}"
        elif "apiToken" in schemes:
            assert set(statuses) - {401, 403}, f"no case of {operation.label} got past authentication: {statuses}"


@pytest.mark.timeout(1800)
def test_sequences_that_follow_the_links_answer_as_documented(fuzz_server, capsys):
    credentials = Credentials(fuzz_server)
    schema = schemathesis.openapi.from_url(fuzz_server.url + "/openapi.json")
    statuses, by_link, failures = collections.Counter(), collections.Counter(), []
    owned = set()
    scenarios = [0]

    class Sequences(schema.as_state_machine()):
        def setup(self):
            scenarios[0] += 1
            # A device of the owner's for the sequence: one of its steps may delete it.
            self.device_id = credentials.fresh_owned_device()
            owned.add(self.device_id)

        def before_call(self, case):
            schemes = security_schemes(case.operation)
            if "deviceToken" in schemes:
                with_device_credentials(case, credentials, "header", realistic_times=True)
            elif "apiToken" in schemes:
                # An id a link handed on (a device created earlier in the sequence) is kept.
                if "device_id" in case.path_parameters and case.path_parameters["device_id"] not in owned:
                    case.path_parameters["device_id"] = self.device_id
                case.headers["Authorization"] = f"Bearer {credentials.api_token}"
                # A generated URL almost never resolves: a webhook made at all needs a real one.
                if "webhook" in case.operation.path and isinstance(case.body, dict) and isinstance(case.body.get("url"), str):
                    case.body["url"] = RECEIVER

        def get_call_kwargs(self, case):
            return {"timeout": REQUEST_TIMEOUT}

        def after_call(self, response, case):
            super().after_call(response, case)
            statuses[response.status_code] += 1
            if any(isinstance(value, int) for value in case.path_parameters.values()):
                by_link[(case.operation.label, response.status_code)] += 1
            if case.operation.label == "POST /api/devices" and response.status_code == 201:
                owned.add(response.json()["device_id"])

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            try:
                case.validate_response(response, checks=CHECKS, transport_kwargs=kwargs or None)
            except (Exception, BaseExceptionGroup) as failure:
                # Noted here: a replay against the server's changed state may not fail again (below).
                failures.append(f"{case.operation.label}:\n{describe(failure)}")
                raise

    # The server's answers decide which links can be followed, so Hypothesis may find a sequence
    # it replays going another way (Flaky); as schemathesis' own runner does, start again from there.
    sequence_settings = settings(
        max_examples=STATEFUL_SCENARIOS, stateful_step_count=STATEFUL_STEPS, phases=[Phase.generate], derandomize=False, database=None
    )
    for _ in range(STATEFUL_SCENARIOS):
        try:
            Sequences.run(settings=settings(sequence_settings, max_examples=STATEFUL_SCENARIOS - scenarios[0]))
        except (Flaky, FlakyStrategyDefinition):
            pass
        except (Exception, BaseExceptionGroup):
            break  # noted in `failures`
        if scenarios[0] >= STATEFUL_SCENARIOS:
            break
    with capsys.disabled():
        print(f"\nstateful fuzz: {sum(statuses.values())} calls in {scenarios[0]} sequences: {dict(sorted(statuses.items()))}")
        for (label, status), count in sorted(by_link.items()):
            print(f"  {label} -> {status}: {count}")

    assert not failures, "\n\n".join(failures)
    assert not [status for status in statuses if status >= 500], statuses
    # The links were followed: routes that take a created thing's id found it (which ones varies by run).
    assert any(200 <= status < 300 for _, status in by_link), by_link


def write_report(capsys, report):
    total = sum(sum(statuses.values()) for statuses in report.values())
    with capsys.disabled():
        print(f"\nfuzz: {total} cases over {len(report)} operations")
        for label, statuses in sorted(report.items()):
            print(f"  {label}: {dict(sorted(statuses.items()))}")
