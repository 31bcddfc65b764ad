"""Consumers: the dispatcher that turns notification records into Zalo API calls."""
