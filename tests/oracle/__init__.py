"""Test oracles: the pure-Python reference of the Rust answer parser and the generator of answer
shapes that drives both."""
