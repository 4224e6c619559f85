"""What a run is and how it is carried out: typed run specs, run folders, config files, plots."""
