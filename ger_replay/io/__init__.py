"""Reading and writing files safely: atomic writes, bounded reads that refuse links, secrets
scrubbed by value, and text made harmless for spreadsheets, terminals and Markdown."""
