"""The vendor's server: billing record of update checks, signed update manifests, licence issuing and the
support-backup drop that deletes on case close. Runs with its own settings
(``alphasms.vendor_server.settings``) and database; the client app never imports this package."""
