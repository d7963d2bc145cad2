"""Over-the-air updates: firmware images (images.py), an image sent to one device and how far it got (updates.py),
and rollouts over several devices (rollouts.py). docs/OTA.md tells the whole story."""
