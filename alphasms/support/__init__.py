"""Support: backups and restore, the support backup and its deletion receipt, remote maintenance."""
