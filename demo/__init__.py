"""Demo data: a small, realistic city to click through (`flask --app wsgi demo`)."""
