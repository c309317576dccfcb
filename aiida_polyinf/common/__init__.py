"""Pure definitions shared by every layer (no AiiDA import): the stage registry (``stages``), the property registry
(``properties``), the values-Dict convention (``values``) and the seeds (``seeds``)."""
