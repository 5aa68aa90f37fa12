"""The Spark partner: SSO, webhooks, and what the hub records of them."""
