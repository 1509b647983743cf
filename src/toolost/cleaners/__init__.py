"""TooLost cleaners: landing -> raw -> staging -> curated, one script per hop."""
