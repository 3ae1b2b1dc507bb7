"""Staff root fields for background jobs: failed jobs and their retry."""
