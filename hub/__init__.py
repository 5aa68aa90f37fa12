"""The write side: ingress, command handlers, aggregates, the `hub` command line, pages."""
