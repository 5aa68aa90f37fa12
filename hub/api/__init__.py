"""The developer API: clients, scopes, the versioned tenant API and its rate limits."""
