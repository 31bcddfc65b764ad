"""Producers: agency-side publishers and the synthetic traffic that feeds the dossier events topic."""
