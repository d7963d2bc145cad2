// ThingsNXT device client: the portable core. Nothing here includes Arduino
// headers; the sketch (or the host program) supplies Board, HttpTransport or MqttTransport,
// JsonReader/JsonWriter, ConfigStore, RecordStore, CertificateParser and
// TextSink.
#pragma once

#include "ApiUrls.h"
#include "Backoff.h"
#include "Board.h"
#include "Config.h"
#include "Console.h"
#include "DeviceClient.h"
#include "DeviceCore.h"
#include "Http.h"
#include "IsoTime.h"
#include "Json.h"
#include "KeyPin.h"
#include "LineAssembler.h"
#include "Log.h"
#include "Messages.h"
#include "Mqtt.h"
#include "MqttDeviceClient.h"
#include "OfflineBuffer.h"
#include "OtaUpdate.h"
#include "PinMap.h"
#include "Provisioning.h"
#include "Reading.h"
#include "ResponsePolicy.h"
#include "Schedule.h"
#include "Sequence.h"
#include "Storage.h"
#include "Url.h"
