"""CalcJobs and calcfunctions of aiida-polyinf."""
