"""Legal e-invoices (EN 16931): the parties as printed, the CII and UBL XML, the Factur-X PDF."""
