"""What every scenario uses: processes, load generators, statistics, reports."""
