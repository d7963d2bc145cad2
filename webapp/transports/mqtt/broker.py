"""The Mosquitto that `flask --app wsgi mqtt broker` runs: its configuration from deploy/mosquitto/, filled in from
MQTT_URL (and the MQTT_TLS_* settings of its TLS listener), and its dynamic-security accounts written from the
database (services/devices/broker_accounts.py)."""
import getpass
import glob
import os
import pathlib
import shutil
import string

import orjson

from webapp.pubsub.mqtt import broker_address
from webapp.services.devices import broker_accounts

TEMPLATES = pathlib.Path(__file__).resolve().parents[3] / "deploy" / "mosquitto"
CONFIG_TEMPLATE = TEMPLATES / "mosquitto.conf"
TLS_LISTENER_TEMPLATE = TEMPLATES / "tls-listener.conf"
# Where Debian's package (and others) put the plugin: /usr/lib/<multiarch triplet>/ or /usr/lib/.
PLUGIN_NAME = "mosquitto_dynamic_security.so"
PLUGIN_PLACES = ("/usr/lib/*/", "/usr/lib/", "/usr/local/lib/")


class BrokerSetupError(Exception):
    """What is missing to run the broker, said so the operator can fix it."""


def prepare_broker(config, data_dir):
    """Write the broker's configuration and accounts in `data_dir` (its persistence goes there too); the command that runs it."""
    if not config["MQTT_URL"]:
        raise BrokerSetupError("MQTT_URL is empty: set it to where the broker listens, e.g. mqtt://127.0.0.1:1883.")
    if not config["MQTT_ADMIN_PASSWORD"]:
        raise BrokerSetupError("MQTT_ADMIN_PASSWORD is empty: set the password of the platform's account on the broker.")
    try:
        host, port = broker_address(config["MQTT_URL"])
    except ValueError as exc:
        raise BrokerSetupError(str(exc)) from None
    mosquitto = shutil.which("mosquitto") or shutil.which("mosquitto", path="/usr/sbin:/usr/local/sbin")
    if mosquitto is None:
        raise BrokerSetupError("Mosquitto is not installed (Debian: apt-get install mosquitto).")
    plugin = _plugin_path()
    tls_listener = _tls_listener(config)
    data_dir = pathlib.Path(data_dir).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    conf = string.Template(CONFIG_TEMPLATE.read_text()).substitute(
        plugin=plugin, data_dir=data_dir, host=host, port=port, tls_listener=tls_listener, user=getpass.getuser()
    )
    conf_path = data_dir / "mosquitto.conf"
    conf_path.write_text(conf)
    accounts = broker_accounts.broker_security_config(config["MQTT_ADMIN_USER"], config["MQTT_ADMIN_PASSWORD"])
    # It holds password hashes: readable by the broker's user alone.
    security_path = data_dir / "dynamic-security.json"
    descriptor = os.open(security_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(orjson.dumps(accounts, option=orjson.OPT_INDENT_2))
    return [mosquitto, "-c", str(conf_path)]


def _tls_listener(config):
    """The TLS listener's lines with MQTT_TLS_PORT set ('' without), once its certificate and key are readable here."""
    if not config["MQTT_TLS_PORT"]:
        return ""
    files = {name: config[name] for name in ("MQTT_TLS_CERTFILE", "MQTT_TLS_KEYFILE")}
    for name, path in files.items():
        if not path:
            raise BrokerSetupError(f"MQTT_TLS_PORT is set, but {name} is empty: set it to the PEM file of the TLS listener's certificate and key.")
        if not os.access(path, os.R_OK):
            raise BrokerSetupError(f"{name} '{path}' is not a file {getpass.getuser()} may read (MQTT_TLS_PORT is set).")
    return string.Template(TLS_LISTENER_TEMPLATE.read_text()).substitute(
        tls_port=config["MQTT_TLS_PORT"], certfile=os.path.abspath(files["MQTT_TLS_CERTFILE"]), keyfile=os.path.abspath(files["MQTT_TLS_KEYFILE"])
    )


def _plugin_path():
    for place in PLUGIN_PLACES:
        found = sorted(glob.glob(place + PLUGIN_NAME))
        if found:
            return found[0]
    raise BrokerSetupError(f"Mosquitto's dynamic-security plugin ({PLUGIN_NAME}) is not installed (Debian: apt-get install mosquitto).")
