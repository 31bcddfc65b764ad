"""Satisfaction ratings: posted back to each agency's system, exported for reports."""
