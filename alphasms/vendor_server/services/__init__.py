"""Use cases of the vendor server, one module per concern (views and commands only parse and call)."""
