"""AiiDA scheduler plugins: ``polyinf.nqsv`` (NEC NQSV, SQUID)."""
