"""The demo data (`manage.py seed_demo`): a catalog, customers, subscriptions, partners,
invoices and logins, written through the services.

An app of its own, above every other: it sells, bills and signs up through them all, and none
of them imports it (the import contracts in pyproject.toml say so).
"""
