"""What exists only for speed: each piece a faster version of a readable formula in
`handgrad.nn` / `handgrad.optim`, with a test proving it equal to that formula."""
