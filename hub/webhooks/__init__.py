"""Developer webhook subscriptions: the event type catalogue, the subscriptions, their API."""
