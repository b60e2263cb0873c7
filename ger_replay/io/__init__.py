"""Every file the tool reads or writes: run folders, the journal, cassettes, released predictions,
bundles and safe archives, the run.json schema, verification, export, table writers; `load` picks
the reader of each input from one ordered list."""
