"""Reports: profiles (one reader, with the secret check), the papermill runner, report fragments,
the paper's tables and figures (the redaction rule is :mod:`petool_utils.secrets`)."""
