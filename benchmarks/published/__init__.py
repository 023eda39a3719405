"""Published numbers that reproduction configs compare against (CSV files; see README.md)."""
