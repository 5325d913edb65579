"""Twilio Programmable Messaging: ``gateway.py`` sends, ``webhooks.py`` verifies and maps DLRs and replies."""
