"""The results of a run as files: the tables (tables: results.csv rows, the summary with its
intervals, the paired comparisons) and the arrays the figures are redrawn from (saved)."""
