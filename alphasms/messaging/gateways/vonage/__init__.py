"""Vonage (formerly Nexmo) SMS API: ``gateway.py`` sends, ``webhooks.py`` verifies and maps DLRs and MO."""
