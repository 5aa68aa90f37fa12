"""SIS connectors: the connector contract, the sync engine, schedules, and two connectors
(OneRoster CSV from a folder or upload, OneRoster REST pulled from another provider)."""
