"""What every part of gaia.yaml is validated with: the model base class, the leaf
parsers (durations, sizes, numbers, names, addresses), the issues they report and their
wording. Trigger kinds and runtimes build their config models from it, and
gateway/config.py collects what they report, file by file."""
