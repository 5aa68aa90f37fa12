"""Adapters to the outside: process applications that read the log and deliver outbound."""
