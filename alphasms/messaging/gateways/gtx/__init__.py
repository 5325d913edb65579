"""GTX Messaging (Ludwigshafen, DE): ``gateway.py`` calls the REST sendsms, ``webhooks.py`` signs and verifies
the dlr-url GTX calls back."""
