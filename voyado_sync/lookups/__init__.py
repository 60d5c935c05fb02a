"""What the Dagster shell looks up for the cores, shared by every asset that needs it: the current version
of stored documents, which Voyado contact a customer or email belongs to, and the mapping configuration.
Reads storage and settings; no Dagster, no HTTP."""
