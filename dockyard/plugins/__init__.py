"""Docker's plugin protocol: discovery of legacy plugins, the JSON-over-HTTP client, and one adapter
per plugin kind (VolumeDriver, authz, ...) that implements that kind's Protocol."""
