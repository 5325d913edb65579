"""SMPP 3.4 gateway: ``gateway.py`` maps messages to ``submit_sm``, ``session.py`` keeps the bound session,
``receipts.py`` maps ``deliver_sm`` (receipts, MO), ``codes.py`` the command_status values, ``config.py`` the
settings and ``wire.py`` reads PDUs. Notes and settings: README.md."""
