"""Presentation: terminal tables, reports, plots and output folders of results."""
