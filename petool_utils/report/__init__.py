"""Reports: profiles (one reader, with the secret check), the papermill runner, report fragments,
the paper's tables and figures, and redaction of secrets from every artifact."""
