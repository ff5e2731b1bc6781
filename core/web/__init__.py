"""Web pieces every app shares and that import no app: the client's address, form validators."""
