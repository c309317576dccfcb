"""The pipeline's stage names, in order. Used by the CLI, the work chains and the export."""

STAGES = ('intake', 'qm', 'ff', 'md', 'nemd', 'ions')
