"""The bulk database tools, behind the billing run's one door (billing/services/chunk_io.py
once issue 13 lands; today billing/services/run.py and documents.py): bulk writes, compiled
reads, the `__any` lookup, a GC pause. They import no app."""
