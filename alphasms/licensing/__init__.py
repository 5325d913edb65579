"""Licensing: the licence number, evaluation mode and the manual update check (client side).

``envelope.py`` is the signed-document format shared with the vendor server (framework-free).
Nothing in this app runs by itself: the update check is started only by a person
(``alphasms update check`` or the button in the settings).
"""
