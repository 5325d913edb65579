"""SMS Gateway for Android (the practice's own phone): ``gateway.py`` sends, ``budget.py`` keeps Android's
30-parts-a-minute limit, ``webhooks.py`` verifies and maps the phone's DLR and MO webhooks."""
