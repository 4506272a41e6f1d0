"""Pictures and pages: colours and saving (style), heatmaps (representations), per-image figures
(figures), run plots (plots, sanity_plot), report.html (html_report), and rebuild (python report.py
OUT), which draws them all again from a run's files."""
