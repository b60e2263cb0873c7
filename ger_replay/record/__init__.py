"""Live recording: client, calling strategy, media, cassettes, simulator."""
