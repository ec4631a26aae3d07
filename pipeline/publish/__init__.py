"""Publishing a night's outputs: one run per folder (lock), atomic files and links (files), run
folders switched by one rename with their history (runs), the run's manifest (manifest) and the
gates a list passes before it is published (gates)."""
