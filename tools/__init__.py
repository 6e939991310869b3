"""Developer tools that are not site code and do not ship in the production image: the benchmark
(`make bench`), the load test (`make loadtest`) and the demo content (`tools.demo`, a Django app
installed only in the development and test settings)."""
