"""Problem families of the generator, one module per topic; each family is ``fn(rng, level) -> Problem``."""
