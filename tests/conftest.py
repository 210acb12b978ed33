"""Settings for the whole suite: no test may pass or fail by how busy the machine is."""

from hypothesis import settings

# hypothesis fails an example that runs longer than 200 ms by default: a timing assertion,
# which a loaded CI machine trips by chance (a save fsyncs, a first call imports). Timings
# belong in benchmarks/; here every example runs to its end.
settings.register_profile("no_deadline", deadline=None)
settings.load_profile("no_deadline")
