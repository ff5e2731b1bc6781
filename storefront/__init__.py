"""The storefront: public offers grids, the hosted sign-up and checkout, and the temporary
signed links that send an existing customer to a hosted page."""
