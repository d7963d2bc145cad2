"""Devices over MQTT (docs/MQTT.md): the platform's side of a Mosquitto broker, and the broker's configuration.

Not a blueprint: `device_messages.py` subscribes to what devices publish and
makes the same service calls as the HTTP device API (one ingest for every
transport); `broker.py` writes the files `flask mqtt broker` runs Mosquitto with.
"""
