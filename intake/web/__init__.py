"""The intake pages people work in: the clerk's filing and cases, the legal review."""
