"""The hub as an LTI 1.3 tool: login, launch, Deep Linking; AGS and NRPS in `connectors`."""
