"""The channels events travel on.

Every event of a device goes to `device:<id>` (long-polls, dashboards and
the webhook wake-up listen there); what concerns one user (notifications,
their set of devices, their logins) goes to `user:<id>`.
"""


def device_channel(device_id):
    return f"device:{device_id}"


def user_channel(user_id):
    return f"user:{user_id}"
