"""Request and response shapes: the one source of validation, of every JSON body the API sends, and of /openapi.json.

A response model's `of(...)` builds it from the domain objects the services
return; http/replies.py encodes it. One module per resource, all importable
from here.
"""
from webapp.schemas.alerts import ALERT_CONDITIONS, AlertEventOut, AlertHistoryOut, AlertRuleIn, AlertRuleListOut, AlertRuleOut  # noqa: F401
from webapp.schemas.commands import CommandForDevice, CommandIn, CommandListOut, CommandOut, CommandReplyIn, CommandReplyOut  # noqa: F401
from webapp.schemas.common import KEY_PATTERN, MAX_KEYS, ErrorOut, Key, RequestModel, Value  # noqa: F401
from webapp.schemas.device_api import (  # noqa: F401
    BatchIn,
    BatchOut,
    BatchRecord,
    HealthOut,
    LatestOut,
    LegacyTelemetryOut,
    TelemetryIn,
    TelemetryOut,
)
from webapp.schemas.devices import (  # noqa: F401
    WIDGET_KINDS,
    DeviceCreatedOut,
    DeviceCreateIn,
    DeviceHealthOut,
    DeviceListOut,
    DeviceOut,
    DeviceUpdateIn,
    PinIn,
    PinOut,
    RuleIn,
    RuleOut,
    RulesIn,
    RulesOut,
    TokenOut,
    WidgetIn,
)
from webapp.schemas.history import HistoryBucket, HistoryOut, HistoryPoint, HistoryQuery  # noqa: F401
from webapp.schemas.notifications import NotificationListOut, NotificationOut, NotificationsReadIn, NotificationsReadOut  # noqa: F401
from webapp.schemas.ota import (  # noqa: F401
    DeviceOtaOut,
    FirmwareIn,
    FirmwareListOut,
    FirmwareOut,
    OtaAssignIn,
    OtaOffer,
    OtaStatusIn,
    OtaStatusOut,
    OtaUpdateOut,
    RolloutIn,
    RolloutListOut,
    RolloutOut,
    RolloutUpdateIn,
)
from webapp.schemas.provisioning import (  # noqa: F401
    ProvisionedDeviceOut,
    ProvisionedOut,
    ProvisionIn,
    ProvisioningKeyCreatedOut,
    ProvisioningKeyCreateIn,
    ProvisioningKeyDetailOut,
    ProvisioningKeyListOut,
    ProvisioningKeyOut,
    ProvisioningRefusalOut,
)
from webapp.schemas.webhooks import (  # noqa: F401
    WEBHOOK_EVENTS,
    WebhookAttemptOut,
    WebhookAttemptsOut,
    WebhookCreatedOut,
    WebhookCreateIn,
    WebhookListOut,
    WebhookOut,
    WebhookUpdateIn,
)
