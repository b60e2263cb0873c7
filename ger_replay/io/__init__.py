"""Every file the tool reads or writes: run folders, the journal, cassettes, released predictions,
bundles and safe archives, the run.json schema, verification, export, table writers; `load` picks
the reader of each input from one ordered list. Shared by all of them: atomic writes (`atomic`),
bounded reads that refuse links (`safe_read`), secrets scrubbed by value (`scrub`), text made
harmless for spreadsheets, terminals and Markdown (`neutral`), private temporary folders
(`tempdir`)."""
