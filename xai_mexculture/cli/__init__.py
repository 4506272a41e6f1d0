"""The commands: main (python main.py), train, make_demo, prepare_data, demo_checks."""
