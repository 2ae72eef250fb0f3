"""What every room builds on: declared settings, devices, user text shown safely, careful files,
number series."""
