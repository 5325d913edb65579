"""seven.io SMS gateway (formerly sms77): ``gateway.py`` sends, ``webhooks.py`` verifies and maps DLRs."""
