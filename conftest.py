"""Root pytest configuration: shared fixtures from alphasms.testing (fake HTTP peer)."""

pytest_plugins = ["alphasms.testing.fake_http"]
