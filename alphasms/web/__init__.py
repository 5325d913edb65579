"""The staff web application (issue 5): sign-in with TOTP, roles, the dashboard and the pages built on
``templates/web/base.html``. Views parse input and call ``services/``; roles are in ``roles.py``."""
