"""Kannel (self-hosted SMS gateway): ``gateway.py`` calls the smsbox's sendsms, ``webhooks.py`` signs and
verifies the dlr-url Kannel calls back."""
