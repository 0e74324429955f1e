"""One module per subcommand; see `handgrad.cli` for the contract."""
