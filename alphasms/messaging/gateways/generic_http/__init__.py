"""Generic HTTP gateway: small providers configured by a JSON file instead of code (``config.py`` loads and
validates it, ``gateway.py`` sends, ``webhooks.py`` signs and verifies the callback URL)."""
