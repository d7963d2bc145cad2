"""`flask --app wsgi …` commands: users, devices, rules, backups and the demo data of `make run`."""
import functools
import json
import os

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext
from flask_migrate.cli import db as db_cli
from pydantic import ValidationError

from webapp.core.errors import ApiError
from webapp.http.request_body import describe_validation_error
from webapp.schemas import RuleOut, RulesIn
from webapp.services import demo
from webapp.services.accounts import users
from webapp.services.devices import registry as devices
from webapp.services.devices import rules
from webapp.services.platform import backups
from webapp.transports.mqtt.broker import BrokerSetupError, prepare_broker

user_cli = AppGroup("user", help="Manage users.")
device_cli = AppGroup("device", help="Manage devices.")
mqtt_cli = AppGroup("mqtt", help="The MQTT broker devices connect to (docs/MQTT.md).")



def register(app):
    app.cli.add_command(user_cli)
    app.cli.add_command(device_cli)
    app.cli.add_command(mqtt_cli)
    app.cli.add_command(seed_demo)
    # Beside Flask-Migrate's `db upgrade`: everything done to the database as a whole is under `db`.
    db_cli.add_command(backup_database)
    db_cli.add_command(restore_database)


def _fail_on_api_error(function):
    """Service errors become a one-line message and exit status 1, not a traceback."""

    @functools.wraps(function)
    def wrapped(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        except ApiError as exc:
            raise click.ClickException(exc.message) from None

    return wrapped


@user_cli.command("create")
@click.argument("email")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--admin", is_flag=True, help="Make the user an admin.")
@_fail_on_api_error
def create_user(email, password, admin):
    """Create a user."""
    user = users.create_user(email, password, is_admin=admin)
    click.echo(f"Created {'admin' if user.is_admin else 'user'} {user.email}")


@user_cli.command("set-password")
@click.argument("email")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@_fail_on_api_error
def set_password(email, password):
    """Give EMAIL a new password; every login they have ends."""
    user = _user(email)
    users.set_password(user, password)
    click.echo(f"Password of {user.email} set; their logins have ended.")


@user_cli.command("api-token")
@click.argument("email")
@click.option("--name", default="cli", show_default=True, help="What the token is for.")
@_fail_on_api_error
def create_api_token(email, name):
    """Print a new personal API token (Authorization: Bearer) for EMAIL."""
    user = _user(email)
    click.echo(users.create_api_token(user, name))


@device_cli.command("create")
@click.argument("name")
@click.option("--owner", "owner_email", required=True, help="Email of the owning user.")
@click.option("--offline-timeout", type=click.IntRange(5, 86400), help="Seconds of silence before offline.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@_fail_on_api_error
def create_device(name, owner_email, offline_timeout, as_json):
    """Register a device and print its id and token (the token is shown only now)."""
    device, token = devices.create_device(_user(owner_email), name, offline_timeout)
    _print_credentials(device, token, as_json)


@device_cli.command("rotate-token")
@click.argument("device_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@_fail_on_api_error
def rotate_token(device_id, as_json):
    """Give DEVICE_ID a new token; the old one is refused from now on."""
    device = devices.find_device(device_id)
    _print_credentials(device, devices.rotate_device_token(device), as_json)


@device_cli.command("rules")
@click.argument("device_id")
@click.option("--set", "rules_file", type=click.File("r"), help='JSON file {"rules": [...]} replacing the rules ("-" for stdin).')
@_fail_on_api_error
def device_rules(device_id, rules_file):
    """Show DEVICE_ID's security rules, or replace them with --set."""
    device = devices.find_device(device_id)
    if rules_file is not None:
        try:
            new_rules = RulesIn.model_validate_json(rules_file.read()).rules
        except ValidationError as exc:
            raise click.ClickException(describe_validation_error(exc)) from None
        rules.replace_rules(device, new_rules)
    described = [RuleOut.of(rule).model_dump() for rule in rules.device_rules(device.id)]
    click.echo(json.dumps({"device_id": device.id, "disabled": device.disabled, "rules": described}, indent=2))


@click.command("backup")
@click.argument("path", type=click.Path(dir_okay=False, writable=True))
@with_appcontext
def backup_database(path):
    """Write a backup of the database to PATH, while the servers keep serving (docs/DEPLOYMENT.md)."""
    try:
        backend = backups.backup(path)
    except backups.BackupFailed as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Backed up the {backend} database to {path}.")


@click.command("restore")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.confirmation_option(prompt="Replace every table of the database with the backup? Stop the servers first.")
@with_appcontext
def restore_database(path):
    """Replace the database's contents with the backup at PATH (stop every server first)."""
    try:
        backend = backups.restore(path)
    except backups.BackupFailed as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Restored the {backend} database from {path}.")


@mqtt_cli.command("broker")
@click.option("--data-dir", type=click.Path(file_okay=False), help="Its configuration, accounts and persistence (default: instance/mosquitto).")
def run_broker(data_dir):
    """Run Mosquitto in the foreground for MQTT_URL, with every device's account written from the database."""
    try:
        command = prepare_broker(current_app.config, data_dir or os.path.join(current_app.instance_path, "mosquitto"))
    except BrokerSetupError as exc:
        raise click.ClickException(str(exc)) from None
    # Replaced by Mosquitto (same process id): a supervisor or test that stops this command stops the broker.
    os.execv(command[0], command)


@click.command("seed-demo")
@with_appcontext
@_fail_on_api_error
def seed_demo():
    """Create the demo admin and device (with widgets) once; later runs say they exist."""
    seeded = demo.seed(demo.credentials_path())
    if seeded.password is None:
        click.echo(f"Demo data exists. Log in as {seeded.admin_email} (forgotten the password? .venv/bin/flask --app wsgi user set-password {seeded.admin_email}).")
        if seeded.token is not None:
            click.echo(f"The demo device has a new token for its simulator, in {demo.credentials_path()}.")
        return
    click.echo("Demo data created (shown once; the token is stored only as a hash, and for the simulator in the instance folder):")
    click.echo(f"  dashboard login: {seeded.admin_email} / {seeded.password}")
    click.echo(f"  device id:       {seeded.device_id}")
    click.echo(f"  device token:    {seeded.token}")


def _user(email):
    user = users.find_user(email)
    if user is None:
        raise click.ClickException(f"No user with the email {email}.")
    return user


def _print_credentials(device, token, as_json):
    if as_json:
        click.echo(json.dumps({"device_id": device.id, "device_token": token, "name": device.name}))
    else:
        click.echo(f"device_id:    {device.id}\ndevice_token: {token}")
