"""Business operations of the storefront: sign-up (signup.py), temporary links (links.py)."""
